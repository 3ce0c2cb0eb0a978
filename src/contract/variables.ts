/**
 * Variables for a contract run: unique per run so the CRM's search can only find what this
 * run created, valid for every phone format, and a small file for uploads.
 */
import crypto from 'node:crypto';

export function generatedVariables(seed = crypto.randomBytes(3).toString('hex')): Record<string, unknown> {
  const digits = String(parseInt(seed, 16) % 10000).padStart(4, '0');
  return {
    NAME: `Contract Test ${seed}`,
    EMAIL: `contract-${seed}@example.com`,
    PHONE_NUMBER: `+1 222 555 ${digits}`,
    SDK_IDENTIFIER: `sdk-${seed}`,
    SESSION_ID: `call-${seed}`,
    SESSION_TYPE: 'Incoming_Call_api',
    CHANNEL: 'voice_call',
    LANG: 'en',
    QUEUE_NAME: 'Contract tests',
    MENU_PATH: 'Support > Contract',
    AGENT_EMAIL: 'agent@example.com',
    TICKET_SUBJECT: `Contract test ${seed}`,
    TICKET_DESCRIPTION: `Created by crm-gateway contract-test run ${seed}`,
    COMMENT_BODY: `Contract test comment ${seed}`,
    RATING: 5,
    FILE_NAME: `contract-${seed}.txt`,
    FILE_TYPE: 'text/plain',
    FILE_KIND: 'chat_transcript',
    FILE_DATA: Buffer.from(`transcript of contract test ${seed}\n`).toString('base64'),
    FILE_URL: `https://files.example.com/contract-${seed}.txt`,
  };
}
