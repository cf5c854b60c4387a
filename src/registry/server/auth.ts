/**
 * Who may do what: htpasswd users (bcrypt), bearer tokens (JWTs this registry signs itself,
 * ES256 for EC P-256 keys or RS256 for RSA keys, via node:crypto) and an optional access list.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import bcrypt from "bcryptjs";

export type Action = "pull" | "push" | "delete" | "*";

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface AclEntry {
  /** A user name, "*" for every authenticated user, "anonymous" for no user. */
  account: string;
  /** Repository name pattern; "*" matches any run of characters ("team/*"). */
  name: string;
  actions: string[];
}

// ---- htpasswd ------------------------------------------------------------------------------
export class Htpasswd {
  private readonly users = new Map<string, string>();
  /** Verified (user, password) pairs, so bcrypt does not run on every request. */
  private readonly verified = new Map<string, number>();

  constructor(text: string) {
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const hash = line.slice(i + 1);
      if (!/^\$2[aby]\$\d\d\$/.test(hash)) throw new Error(`htpasswd: user ${line.slice(0, i)}: only bcrypt entries are supported`);
      this.users.set(line.slice(0, i), hash.replace(/^\$2y\$/, "$2b$"));
    }
  }

  static load(file: string): Htpasswd {
    return new Htpasswd(fs.readFileSync(file, "utf8"));
  }

  async check(user: string, password: string): Promise<boolean> {
    const hash = this.users.get(user);
    if (hash === undefined) {
      await bcrypt.compare(password, "$2b$10$QfSZg4A/8OfjfmawUIaywOy78RyjePpYL/tEq6q78LxNDo2q4Pa1S").catch(() => false);
      return false;
    }
    const key = createHash("sha256").update(`${user}\0${password}\0${hash}`).digest("hex");
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(key, Date.now() + 5 * 60_000);
    }
    return ok;
  }
}

/** Parses "Basic base64(user:password)". */
export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (!header || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return null;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function parseBearer(header: string | undefined): string | null {
  if (!header || !/^bearer /i.test(header)) return null;
  return header.slice(7).trim();
}

// ---- scopes --------------------------------------------------------------------------------
/** "repository:name:pull,push" -> Access (null when malformed). */
export function parseScope(scope: string): Access | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return null;
  const type = scope.slice(0, first).replace(/\(.*\)$/, "");
  const name = scope.slice(first + 1, last);
  const actions = scope.slice(last + 1).split(",").filter(Boolean);
  if (!name) return null;
  return { type, name, actions };
}

export function scopeString(access: Access[]): string {
  return access.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).join(" ");
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return re.test(value);
}

export class AccessPolicy {
  constructor(
    private readonly acl: AclEntry[] | undefined,
    private readonly allowAnonymousPull: boolean,
  ) {}

  /** The actions `account` (null: anonymous) may perform on a resource. */
  allowed(account: string | null, type: string, name: string): Set<string> {
    const out = new Set<string>();
    if (this.acl) {
      for (const e of this.acl) {
        const who = e.account === "*" ? account !== null : e.account === "anonymous" ? account === null : e.account === account;
        if (who && globMatch(e.name, name)) for (const a of e.actions) out.add(a);
      }
    } else if (account !== null) {
      if (type === "repository") ["pull", "push", "delete"].forEach((a) => out.add(a));
      if (type === "registry" && name === "catalog") out.add("*");
    }
    if (this.allowAnonymousPull && account === null && type === "repository") out.add("pull");
    if (out.has("*") && type === "repository") ["pull", "push", "delete"].forEach((a) => out.add(a));
    return out;
  }

  /** The part of `requested` that `account` may have. */
  grant(account: string | null, requested: Access[]): Access[] {
    const out: Access[] = [];
    for (const r of requested) {
      const allowed = this.allowed(account, r.type, r.name);
      const actions = r.actions.filter((a) => allowed.has(a) || (a === "*" && allowed.has("*")));
      if (actions.length > 0) out.push({ type: r.type, name: r.name, actions });
    }
    return out;
  }
}

// ---- JWT -----------------------------------------------------------------------------------
function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

export class TokenIssuer {
  readonly alg: "ES256" | "RS256";
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly kid: string;

  constructor(
    pem: string,
    readonly issuer: string,
    readonly service: string,
    readonly ttlSeconds: number,
  ) {
    this.privateKey = createPrivateKey(pem);
    this.publicKey = createPublicKey(this.privateKey);
    const type = this.privateKey.asymmetricKeyType;
    if (type === "ec") {
      if (this.privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new Error("token key: EC keys must be P-256 (ES256)");
      this.alg = "ES256";
    } else if (type === "rsa") {
      this.alg = "RS256";
    } else {
      throw new Error(`token key: unsupported key type ${type} (use EC P-256 or RSA)`);
    }
    const der = this.publicKey.export({ type: "spki", format: "der" });
    this.kid = createHash("sha256").update(der).digest("hex").slice(0, 32);
  }

  static load(file: string, issuer: string, service: string, ttlSeconds: number): TokenIssuer {
    return new TokenIssuer(fs.readFileSync(file, "utf8"), issuer, service, ttlSeconds);
  }

  issue(subject: string, access: Access[]): { token: string; expiresIn: number; issuedAt: string } {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: this.alg, typ: "JWT", kid: this.kid };
    const claims: TokenClaims = {
      iss: this.issuer,
      sub: subject,
      aud: this.service,
      exp: now + this.ttlSeconds,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign("sha256", Buffer.from(input), this.alg === "ES256" ? { key: this.privateKey, dsaEncoding: "ieee-p1363" } : this.privateKey);
    return { token: `${input}.${b64url(sig)}`, expiresIn: this.ttlSeconds, issuedAt: new Date(now * 1000).toISOString() };
  }

  /** The token's claims when its signature, issuer, audience and times check out; else null. */
  verify(token: string): TokenClaims | null {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as { alg?: string };
      if (header.alg !== this.alg) return null;
      const sig = Buffer.from(parts[2], "base64url");
      const input = Buffer.from(`${parts[0]}.${parts[1]}`);
      const ok = verify("sha256", input, this.alg === "ES256" ? { key: this.publicKey, dsaEncoding: "ieee-p1363" } : this.publicKey, sig);
      if (!ok) return null;
      const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as TokenClaims;
      const now = Math.floor(Date.now() / 1000);
      if (claims.iss !== this.issuer || claims.aud !== this.service) return null;
      if (typeof claims.exp !== "number" || claims.exp <= now) return null;
      if (typeof claims.nbf === "number" && claims.nbf > now + 60) return null;
      if (!Array.isArray(claims.access)) claims.access = [];
      return claims;
    } catch {
      return null;
    }
  }
}
