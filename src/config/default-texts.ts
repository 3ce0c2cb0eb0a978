/**
 * Default texts for what a session writes to the CRM, as the platform's own CRM
 * integrations write them: right after creation an internal comment with the call id, language and menu/queue; a description holding all
 * known session information; after the call a comment with the recording; CSAT, transfer,
 * disposition, survey and custom data as internal comments. Handlebars; missing values
 * render empty, and {{default X "…"}} fills gaps.
 */
import type { FlowTemplate } from './types';

export const DEFAULT_FLOW_TEMPLATES: Record<FlowTemplate, string> = {
  subject:
    '{{#if TICKET_SUBJECT}}{{TICKET_SUBJECT}}{{else}}{{default CHANNEL "Session"}} from {{default NAME (default PHONE_NUMBER (default EMAIL "an unknown customer"))}}{{/if}}',
  description: [
    'Session {{SESSION_ID}} ({{default SESSION_TYPE "unknown type"}}, {{default CHANNEL "unknown channel"}})',
    'Customer: {{default NAME "-"}}  Phone: {{default PHONE_NUMBER "-"}}  Email: {{default EMAIL "-"}}',
    'Queue: {{default QUEUE_NAME "-"}}  Menu: {{default MENU_PATH "-"}}  Language: {{default LANG "-"}}',
    'Agent: {{default AGENT_EMAIL "not yet assigned"}}',
  ].join('\n'),
  record_created:
    'Call/chat id {{default Call_ID (default Chat_ID SESSION_ID)}} · language {{default LANG "-"}} · menu/queue {{default MENU_PATH (default QUEUE_NAME "-")}}',
  end: 'Session ended{{#if DISCONNECTED_BY}} (disconnected by {{DISCONNECTED_BY}}){{/if}}. Duration {{default CALL_DURATION "-"}}, hold {{default HOLD_TIME "-"}}, wait {{default WAIT_TIME "-"}}. Agent: {{default AGENT_EMAIL "none"}}.',
  csat: 'CSAT rating {{RATING}}/5{{#if FEEDBACK}}: {{FEEDBACK}}{{/if}}',
  transfer: 'Transferred{{#if TRANSFER_FROM}} from {{TRANSFER_FROM}}{{/if}}{{#if TRANSFER_TO}} to {{TRANSFER_TO}}{{/if}}',
  disposition: 'Disposition {{DISPOSITION_CODE}}{{#if DISPOSITION_NOTES}}: {{DISPOSITION_NOTES}}{{/if}}',
  custom_data: 'Custom data:\n{{CUSTOM_DATA}}',
  survey: 'Survey:\n{{SURVEY}}',
  file: '{{FILE_KIND}} {{FILE_NAME}}: {{ATTACHMENT_URL}}',
  verification: 'Customer verified: {{default VERIFIED "yes"}}',
  note: 'Note{{#if AGENT_EMAIL}} by {{AGENT_EMAIL}}{{/if}}: {{NOTES}}',
};
