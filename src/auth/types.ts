/** An auth provider decorates an outgoing request; OAuth2 can also refresh after a 401. */
export interface AuthProvider {
  /** Adds credentials to `headers`. With `dryRun`, never fetches a token: adds a masked placeholder. */
  apply(headers: Record<string, string>, opts?: { dryRun?: boolean }): Promise<void>;
  /** After a 401: try to get new credentials; true when one resend is worth it. */
  onUnauthorized(): Promise<boolean>;
  /** Header names this provider sets, masked in previews and logs. */
  readonly headerNames: readonly string[];
}
