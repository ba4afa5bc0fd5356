/**
 * @module What the global setups (Node) hand to the tests (`inject(…)`, in workerd or in Node),
 * set by test/support/origin-setup.ts and test/library/pack-install.ts. Declared on its own, with no
 * Node or Worker types, so that both test projects (test/tsconfig.json, test/edge/tsconfig.json)
 * see the same names without typechecking the other side's setup code.
 */

/** A command the library setup ran: its exit status and output. */
export interface Run {
  status: number;
  output: string;
}

export interface PackInfo {
  filename: string;
  /** Bytes of the .tgz, and of its files unpacked. */
  size: number;
  unpackedSize: number;
  files: string[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    originUrl: string;
    jwksUrl: string;
    jwksPrivateJwk: JsonWebKey;
    libraryWranglerConfig: string;
    /** As `readD1Migrations` reads them (`D1Migration` of @cloudflare/vitest-pool-workers). */
    libraryMigrations: { name: string; queries: string[] }[];
    libraryMigrationsDir: string;
    libraryPack: PackInfo;
    libraryTypecheck: Run;
    libraryCli: Run;
    libraryBundle: Run;
  }
}
