/**
 * A Gson-style lenient JSON reader, used only when strict `JSON.parse` fails,
 * so that the reference's sloppy inputs keep working (PROTOCOL.md §2.3):
 * single-quoted strings, unquoted keys and values. It still requires exactly
 * one value and nothing but whitespace after it. Returns `undefined` on failure.
 */
export function parseLenientJson(text: string): unknown {
  const reader = new LenientReader(text);
  try {
    const value = reader.readValue(0);
    reader.skipWhitespace();
    return reader.atEnd() ? value : undefined;
  } catch {
    return undefined;
  }
}

const MAX_DEPTH = 32;
/** Characters that end an unquoted literal (Gson's `isLiteral`). */
const LITERAL_END = new Set(['/', '\\', ';', '#', '=', '{', '}', '[', ']', ':', ',', ' ', '\t', '\f', '\r', '\n', '"', "'"]);

class LenientReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  readValue(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new SyntaxError('too deep');
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === '{') return this.readObject(depth);
    if (c === '[') return this.readArray(depth);
    if (c === '"' || c === "'") return this.readQuoted(c);
    return this.readLiteral();
  }

  private readObject(depth: number): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      const c = this.text[this.pos];
      const key = c === '"' || c === "'" ? this.readQuoted(c) : this.readLiteralText();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') throw new SyntaxError('expected :');
      this.pos++;
      // defineProperty: a "__proto__" key must stay an ordinary key, as with JSON.parse.
      Object.defineProperty(out, key, { value: this.readValue(depth + 1), enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const sep = this.text[this.pos++];
      if (sep === '}') return out;
      if (sep !== ',') throw new SyntaxError('expected , or }');
    }
  }

  private readArray(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.readValue(depth + 1));
      this.skipWhitespace();
      const sep = this.text[this.pos++];
      if (sep === ']') return out;
      if (sep !== ',') throw new SyntaxError('expected , or ]');
    }
  }

  private readQuoted(quote: string): string {
    let out = '';
    this.pos++;
    for (;;) {
      if (this.pos >= this.text.length) throw new SyntaxError('unterminated string');
      const c = this.text[this.pos++];
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          const hex = this.text.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new SyntaxError('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        case undefined: throw new SyntaxError('unterminated escape');
        default: out += e;
      }
    }
  }

  private readLiteralText(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !LITERAL_END.has(this.text[this.pos])) this.pos++;
    if (this.pos === start) throw new SyntaxError('expected a value');
    return this.text.slice(start, this.pos);
  }

  private readLiteral(): unknown {
    const raw = this.readLiteralText();
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    if (raw === 'null') return null;
    if (/^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(raw)) return Number(raw);
    return raw;
  }
}
