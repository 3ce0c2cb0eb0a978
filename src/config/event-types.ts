/**
 * The event types a session accepts: the platform's own (its agent-adapter events) and the
 * gateway's additions for what the CRM needs that the adapter list lacks. Here, below both the
 * loader (flow_posts name event types) and the session flows (which interpret them).
 */
export const PLATFORM_EVENTS = [
  'New_Call',
  'End_Call',
  'Call_Redaction_Started',
  'Call_Redaction_Ended',
  'New_Chat',
  'Active_Chat',
  'Chat_Inbound_Message',
  'Chat_Outbound_Message',
  'End_Chat',
  'Dismissed_Chat',
  'Transfer_Chat',
  'Party_Added',
  'Agent_Joined_Chat',
  'Agent_Login',
  'Agent_Logout',
  'Cobrowse_Session_Started',
  'Cobrowse_Session_Remote_Control_Changed',
  'Cobrowse_Session_Full_Device_Changed',
  'Cobrowse_Session_Ended',
  'Agent_Assist_Started',
] as const;
/**
 * Names this gateway used for the two cobrowse change events before it followed the platform's
 * spelling; still accepted, and recorded under the platform's name.
 */
export const EVENT_ALIASES: Readonly<Record<string, (typeof PLATFORM_EVENTS)[number]>> = {
  Cobrowse_Remote_Control_Changed: 'Cobrowse_Session_Remote_Control_Changed',
  Cobrowse_Full_Device_Changed: 'Cobrowse_Session_Full_Device_Changed',
};
export const GATEWAY_EVENTS = [
  'Session_Started',
  'Queue_Selected',
  'CSAT_Submitted',
  'Disposition_Set',
  'Custom_Data',
  'Survey_Completed',
  'User_Verified',
  'File_Available',
  'After_Call_Work_Ended',
  'Note_Added',
] as const;
