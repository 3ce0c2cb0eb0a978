/**
 * `crm-gateway init [dir]`: a starter connector that validates as written (every endpoint
 * pointed at a placeholder CRM, credentials from the environment) and an example .env.
 */
import fs from 'node:fs';
import path from 'node:path';

export const STARTER_CONNECTOR = `# yaml-language-server: $schema=https://raw.githubusercontent.com/crm-gateway/crm-gateway/main/schemas/connector.schema.json
#
# A starter connector: describe your CRM's HTTP API here, then
#   crm-gateway validate connector.yaml
#   crm-gateway dry-run connector.yaml find_account --var PHONE_NUMBER="+1 222 333 4444"
# The README explains every key.
id: my-crm
name: My CRM
base_url: \${env:MY_CRM_URL:-https://crm.example.com}

auth:
  type: headers
  headers:
    Authorization: "Bearer \${env:MY_CRM_TOKEN}"

phone:
  format: e164              # +12223334444
  default_region: US        # numbers written without a country code

timeout_seconds: 10

lookup_urls:
  account: \${env:MY_CRM_URL:-https://crm.example.com}/contacts/{ACCOUNT_ID}
  record: \${env:MY_CRM_URL:-https://crm.example.com}/tickets/{RECORD_ID}

endpoints:
  find_account:
    method: GET
    url: /api/contacts/search
    query: { phone: "{PHONE_NUMBER}" }
    response_data_location: data
    id_location: id
    match: { phone: PHONE_NUMBER }      # keep only contacts that really have this number

  create_account:
    method: POST
    url: /api/contacts
    params:
      name: "{NAME}"
      phone: "{PHONE_NUMBER}"
      email: "{EMAIL}"
    response_data_location: data
    id_location: id

  create_record:
    method: POST
    url: /api/tickets
    params:
      contact_id: "{ACCOUNT_ID}"
      subject: "{TICKET_SUBJECT}"
      description: "{TICKET_DESCRIPTION}"
    response_data_location: data
    id_location: id

  add_comment:
    method: POST
    url: /api/tickets/{RECORD_ID}/comments
    params:
      body: "{COMMENT_BODY}"
`;

export const STARTER_ENV = `# Settings for crm-gateway serve (copy to .env and fill in; never commit real secrets).
PORT=3000
CONFIG_DIR=./
# DATABASE_URL=postgres://user:password@localhost:5432/crm_gateway   # default: SQLite in DATA_DIR
DATA_DIR=./data
# API_KEYS=admin:<a long random key>
LOG_LEVEL=info
MY_CRM_URL=https://crm.example.com
MY_CRM_TOKEN=
`;

export function writeStarter(dir: string, force: boolean, io: { out: (s: string) => void; err: (s: string) => void }): number {
  const files: Array<[string, string]> = [
    ['connector.yaml', STARTER_CONNECTOR],
    ['.env.example', STARTER_ENV],
  ];
  const existing = files.map(([f]) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  if (existing.length && !force) {
    io.err(`init: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing written (--force overwrites)\n`);
    return 1;
  }
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of files) {
    fs.writeFileSync(path.join(dir, f), text);
    io.out(`wrote ${path.join(dir, f)}\n`);
  }
  io.out(`next: MY_CRM_TOKEN=<your token> crm-gateway validate ${path.join(dir, 'connector.yaml')}\n`);
  return 0;
}
