/** `outcome_email:` of a connector: as written (YAML) and as compiled. */

export interface OutcomeEmailQueueFile {
  /** The queue's path as the events give it (QUEUE_NAME / queue_path), compared without case. */
  queue?: string;
  /** Or the queue's id (QUEUE_ID). */
  queue_id?: string | number;
  enabled?: boolean;
  address?: string;
}

export interface SmtpFile {
  host: string;
  port?: number;
  /** TLS from the first byte (port 465). */
  secure?: boolean;
  /** Without `secure`: refuse to send unless the server upgrades with STARTTLS (default true). */
  starttls?: boolean;
  user?: string;
  password?: string;
  from: string;
  /** PEM certificate(s) to trust besides the system's (a private CA, a self-signed server). */
  ca?: string;
  /** The name the server's certificate must carry, when `host` is an IP address or an alias. */
  servername?: string;
}

export interface OutcomeEmailFile {
  enabled?: boolean;
  address?: string;
  delay_minutes?: number;
  subject?: string;
  queues?: OutcomeEmailQueueFile[];
  smtp: SmtpFile;
}

export interface OutcomeEmailQueue {
  readonly queue?: string;
  readonly queueId?: string;
  readonly enabled: boolean;
  readonly address: string;
}

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly starttls: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly from: string;
  readonly ca?: string;
  readonly servername?: string;
}

export interface OutcomeEmail {
  readonly enabled: boolean;
  readonly address: string;
  readonly delayMs: number;
  /** Handlebars, like the flow templates. */
  readonly subject: string;
  readonly queues: readonly OutcomeEmailQueue[];
  readonly smtp: SmtpSettings;
}
