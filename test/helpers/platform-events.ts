/** The platform's New_Call example as its event reference prints it: an agent's call with no customer identity in it. */
export const SPEC_NEW_CALL = {
  type: 'New_Call',
  data: {
    agent_id: 1,
    agent_custom_id: '007',
    agent_email: 'Kim@example.com',
    queue_id: 8469,
    queue_path: 'Developers / Kim',
    campaign_id: 1432,
    campaign_name: 'Survey Movie',
    call_id: 103646,
    session_type: 'Voice Campaign (UJET)',
  },
};
