// How bearer tokens are checked: read from the environment by config.ts.
export interface AuthConfig {
  /** False only when AUTH=off: then every request is served as an unrestricted caller. */
  enabled: boolean;
  /** The aud every token must carry: the FHIR base by default. */
  audience: string;
  /** An external issuer whose keys are fetched from its JWKS URL. */
  jwks?: { issuer: string; url: string };
  /** Whether tokens signed with the key kept in DATA_DIR (npm run token) are accepted. */
  localKey: boolean;
  /** Seconds of clock difference tolerated on exp and nbf. */
  clockSkewSeconds: number;
  /** The issuer's token endpoint, announced in the SMART configuration. */
  tokenEndpoint?: string;
}
