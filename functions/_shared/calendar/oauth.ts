// OAuth 2.0 access tokens for Google and Microsoft: use the stored access
// token, and on a 401 refresh it once with the refresh token (RFC 6749
// section 6). A refused refresh (invalid_grant) means the user revoked us:
// that is not retried, the connection needs reconnecting.
import { AuthExpiredError, AuthRejectedError, CalendarError, type Provider } from "./errors.ts";

export interface OAuthTokens {
  access_token: string;
  refresh_token: string;
  // ISO 8601; refreshed a minute early.
  expires_at?: string | null;
}

export interface OAuthClient {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
export const MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token";

export class TokenSource {
  #tokens: OAuthTokens;
  #refreshed = false;

  constructor(
    readonly provider: Provider,
    tokens: OAuthTokens,
    readonly client: OAuthClient,
    readonly fetchFn: typeof fetch = fetch,
    readonly now: () => number = Date.now,
  ) {
    this.#tokens = { ...tokens };
  }

  // The tokens as they are now, to store back when `refreshed` is true.
  get tokens(): OAuthTokens {
    return { ...this.#tokens };
  }
  get refreshed(): boolean {
    return this.#refreshed;
  }

  async accessToken(): Promise<string> {
    const expires = this.#tokens.expires_at ? Date.parse(this.#tokens.expires_at) : NaN;
    if (!Number.isNaN(expires) && expires - 60_000 <= this.now()) await this.refresh();
    return this.#tokens.access_token;
  }

  async refresh(): Promise<void> {
    const res = await this.fetchFn(this.client.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: this.#tokens.refresh_token,
        client_id: this.client.clientId,
        client_secret: this.client.clientSecret,
      }),
    });
    const body = await res.json().catch(() => ({})) as Record<string, unknown>;
    if (!res.ok || typeof body.access_token !== "string") {
      const code = typeof body.error === "string" ? body.error : null;
      const message = `token refresh refused: ${res.status} ${code ?? ""} ${
        typeof body.error_description === "string" ? body.error_description : ""
      }`.trim();
      if (res.status === 400 || res.status === 401) {
        throw new AuthRejectedError(this.provider, message, res.status, code);
      }
      throw new CalendarError(this.provider, message, res.status, code);
    }
    this.#tokens = {
      access_token: body.access_token,
      // Google keeps the refresh token; Microsoft rotates it.
      refresh_token: typeof body.refresh_token === "string"
        ? body.refresh_token
        : this.#tokens.refresh_token,
      expires_at: typeof body.expires_in === "number"
        ? new Date(this.now() + body.expires_in * 1000).toISOString()
        : null,
    };
    this.#refreshed = true;
  }

  // Run a call with a valid token; one 401 triggers one refresh and retry.
  async run<T>(call: (accessToken: string) => Promise<T>): Promise<T> {
    try {
      return await call(await this.accessToken());
    } catch (e) {
      if (!(e instanceof AuthExpiredError)) throw e;
      await this.refresh();
      try {
        return await call(this.#tokens.access_token);
      } catch (again) {
        if (again instanceof AuthExpiredError) {
          throw new AuthRejectedError(
            this.provider,
            "the provider refused a freshly refreshed token",
            401,
          );
        }
        throw again;
      }
    }
  }
}
