/** Minimal `--key value` / `--flag` / positional parser for the bench CLI. */
export class Args {
  readonly positional: string[] = [];
  private readonly values = new Map<string, string | true>();

  constructor(argv: string[]) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (!a.startsWith('--')) {
        this.positional.push(a);
        continue;
      }
      const eq = a.indexOf('=');
      if (eq > 0) this.values.set(a.slice(2, eq), a.slice(eq + 1));
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) this.values.set(a.slice(2), argv[++i]);
      else this.values.set(a.slice(2), true);
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  str(name: string, dflt: string): string;
  str(name: string): string | undefined;
  str(name: string, dflt?: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : dflt;
  }

  num(name: string, dflt: number): number;
  num(name: string): number | undefined;
  num(name: string, dflt?: number): number | undefined {
    const v = this.values.get(name);
    if (typeof v !== 'string') return dflt;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got "${v}"`);
    return n;
  }

  flag(name: string): boolean {
    const v = this.values.get(name);
    return v === true || v === 'true' || v === '1';
  }
}
