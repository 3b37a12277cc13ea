import { InputError } from '../errors.js';

/**
 * A Python global that the caller allowed (`module.name`); the unpickler never looks anything up
 * by name itself, so a pickle can only reach what {@link UnpickleOptions.globals} lists.
 */
export class PickleGlobal {
  constructor(readonly qualifiedName: string, readonly call: (args: unknown[]) => unknown) {}
}

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** How errors name the bytes, usually the file path. */
  source: string;
  /**
   * The only globals the pickle may name, by `module.name`, with what calling each (REDUCE)
   * returns. Any other global is an {@link InputError} naming it, raised as soon as it is read.
   */
  globals: Readonly<Record<string, (args: unknown[]) => unknown>>;
  /** Resolves BINPERSID ids (torch.save's storages). Default: persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Offset of the pickle in `bytes`. Default 0. */
  offset?: number;
}

// Opcode names for error messages; also the complete list of what this unpickler executes.
const OPCODES: Record<number, string> = {
  0x80: 'PROTO', 0x95: 'FRAME', 0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP',
  0x4e: 'NONE', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2',
  0x8a: 'LONG1', 0x47: 'BINFLOAT', 0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x55: 'SHORT_BINSTRING', 0x54: 'BINSTRING', 0x43: 'SHORT_BINBYTES', 0x42: 'BINBYTES',
  0x5d: 'EMPTY_LIST', 0x29: 'EMPTY_TUPLE', 0x7d: 'EMPTY_DICT', 0x61: 'APPEND', 0x65: 'APPENDS',
  0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x73: 'SETITEM', 0x75: 'SETITEMS',
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD', 0x51: 'BINPERSID',
  0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x94: 'MEMOIZE', 0x68: 'BINGET', 0x6a: 'LONG_BINGET',
};

/**
 * A data-only unpickler: enough of Python's pickle (protocols 2 to 5) to read what torch.save
 * writes for a state_dict, the same opcode subset as PyTorch's own `weights_only` unpickler.
 * It builds plain values (None → null, ints → number, or bigint beyond 2^53, str, bytes →
 * Uint8Array, list and tuple → Array, dict → Map) and calls nothing but the functions given in
 * `options.globals`. Every length is checked against the bytes left before anything is read or
 * allocated, so a hostile or truncated pickle is a one-line {@link InputError} naming `source`,
 * never code execution or an allocation larger than the file.
 *
 * Written here rather than taken from an npm pickle parser: those aim at the whole format and
 * construct arbitrary classes by name, while this subset (about 40 opcodes and a closed list of
 * globals) is small enough to audit line by line.
 *
 * @returns the unpickled value and the offset just past its STOP opcode.
 * @example
 * const { value } = unpickle(bytes, { source: 'x.pkl', globals: { 'collections.OrderedDict': () => new Map() } });
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): { value: unknown; end: number } {
  const { source, globals, persistentLoad } = options;
  const fail = (what: string): never => {
    throw new InputError(`${source}: ${what}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = options.offset ?? 0;
  const need = (n: number, what: string) => {
    if (!(n >= 0 && at + n <= bytes.byteLength)) fail(`truncated pickle: ${what} at byte ${at} needs ${n} bytes, ${bytes.byteLength - at} left`);
  };
  const u8 = () => (need(1, 'an argument'), bytes[at++]);
  const take = (n: number, what: string) => {
    need(n, what);
    at += n;
    return bytes.subarray(at - n, at);
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const text = (raw: Uint8Array) => {
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`corrupt pickle: invalid UTF-8 string before byte ${at}`);
    }
  };
  const latin1 = (raw: Uint8Array) => {
    let out = '';
    for (const byte of raw) out += String.fromCharCode(byte);
    return out;
  };

  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const lists = new WeakSet<unknown[]>();
  const pop = (): unknown => (stack.length === 0 ? fail(`corrupt pickle: stack underflow at byte ${at}`) : stack.pop());
  const top = (): unknown => (stack.length === 0 ? fail(`corrupt pickle: stack underflow at byte ${at}`) : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const items = stack;
    stack = marks.pop() ?? fail(`corrupt pickle: no MARK before byte ${at}`);
    return items;
  };
  const resolve = (module: string, name: string): PickleGlobal => {
    // Protocol 2 writes Python 3's builtins under its Python 2 name; name it as Python 3 does.
    const qualified = `${module === '__builtin__' ? 'builtins' : module}.${name}`;
    const call = Object.hasOwn(globals, qualified) ? globals[qualified] : undefined;
    if (!call) {
      fail(`refusing to load the global '${qualified}': a weights file may name only ${Object.keys(globals).join(', ')}; this one would run code when unpickled by Python`);
    }
    return new PickleGlobal(qualified, call!);
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0 || end - at > 256) fail(`corrupt pickle: unterminated GLOBAL name at byte ${at}`);
    return latin1(take(end - at + 1, 'a GLOBAL name').subarray(0, -1));
  };
  const dictOf = (target: unknown, op: string) => (target instanceof Map ? target : fail(`corrupt pickle: ${op} on a non-dict at byte ${at}`));
  const listOf = (target: unknown, op: string) => (Array.isArray(target) && lists.has(target) ? target : fail(`corrupt pickle: ${op} on a non-list at byte ${at}`));
  const memoKey = (key: number) => (memo.has(key) ? memo.get(key) : fail(`corrupt pickle: memo key ${key} read before it was written`));

  for (;;) {
    const opAt = at;
    const op = u8();
    switch (op) {
      case 0x80: {
        const protocol = u8();
        if (protocol > 5) fail(`unsupported pickle protocol ${protocol}; expected 2 to 5`);
        break;
      }
      case 0x95: take(8, 'FRAME'); break;
      case 0x28: marks.push(stack); stack = []; break;
      case 0x2e:
        if (stack.length !== 1 || marks.length) fail('corrupt pickle: STOP with a malformed stack');
        return { value: stack[0], end: at };
      case 0x30: pop(); break;
      case 0x31: popMark(); break;
      case 0x32: stack.push(top()); break;
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4a: need(4, 'BININT'); stack.push(view.getInt32(at, true)); at += 4; break;
      case 0x4b: stack.push(u8()); break;
      case 0x4d: need(2, 'BININT2'); stack.push(view.getUint16(at, true)); at += 2; break;
      case 0x8a: {
        const raw = take(u8(), 'LONG1');
        let value = 0n;
        for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
        if (raw.length && raw[raw.length - 1] & 0x80) value -= 1n << BigInt(8 * raw.length);
        stack.push(value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
        break;
      }
      case 0x47: need(8, 'BINFLOAT'); stack.push(view.getFloat64(at, false)); at += 8; break;
      case 0x58: need(4, 'BINUNICODE'); stack.push(text(take(view.getUint32((at += 4) - 4, true), 'BINUNICODE'))); break;
      case 0x8c: stack.push(text(take(u8(), 'SHORT_BINUNICODE'))); break;
      case 0x8d: {
        need(8, 'BINUNICODE8');
        const n = Number(view.getBigUint64(at, true));
        at += 8;
        stack.push(text(take(n, 'BINUNICODE8')));
        break;
      }
      case 0x55: stack.push(latin1(take(u8(), 'SHORT_BINSTRING'))); break;
      case 0x54: need(4, 'BINSTRING'); stack.push(latin1(take(view.getInt32((at += 4) - 4, true), 'BINSTRING'))); break;
      case 0x43: stack.push(take(u8(), 'SHORT_BINBYTES')); break;
      case 0x42: need(4, 'BINBYTES'); stack.push(take(view.getUint32((at += 4) - 4, true), 'BINBYTES')); break;
      case 0x5d: {
        const list: unknown[] = [];
        lists.add(list);
        stack.push(list);
        break;
      }
      case 0x29: stack.push([]); break;
      case 0x7d: stack.push(new Map()); break;
      case 0x61: { const item = pop(); listOf(top(), 'APPEND').push(item); break; }
      case 0x65: {
        const items = popMark();
        const list = listOf(top(), 'APPENDS');
        for (const item of items) list.push(item);
        break;
      }
      case 0x74: {
        const items = popMark(); // before reading `stack`, which popMark replaces
        stack.push(items);
        break;
      }
      case 0x85: stack.push([pop()]); break;
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; }
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; }
      case 0x73: { const value = pop(); const key = pop(); dictOf(top(), 'SETITEM').set(key, value); break; }
      case 0x75: {
        const items = popMark();
        const dict = dictOf(top(), 'SETITEMS');
        if (items.length % 2) fail(`corrupt pickle: SETITEMS with an odd number of items at byte ${opAt}`);
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case 0x63: { const module = line(); stack.push(resolve(module, line())); break; }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`corrupt pickle: STACK_GLOBAL without strings at byte ${opAt}`);
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: {
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleGlobal) || !Array.isArray(args)) fail(`corrupt pickle: REDUCE without a global and an argument tuple at byte ${opAt}`);
        stack.push((fn as PickleGlobal).call(args as unknown[]));
        break;
      }
      case 0x62: {
        // OrderedDict's `_metadata` attribute and tensor hooks' state arrive here; a state_dict
        // needs neither, so the state is dropped (PyTorch allows BUILD only on these too).
        pop();
        const target = top();
        if (target === null || typeof target !== 'object' || target instanceof PickleGlobal) fail(`corrupt pickle: BUILD on a plain value at byte ${opAt}`);
        break;
      }
      case 0x51: {
        if (!persistentLoad) fail(`corrupt pickle: unexpected persistent id at byte ${opAt}`);
        stack.push(persistentLoad!(pop()));
        break;
      }
      case 0x71: memo.set(u8(), top()); break;
      case 0x72: need(4, 'LONG_BINPUT'); memo.set(view.getUint32(at, true), top()); at += 4; break;
      case 0x94: memo.set(memo.size, top()); break;
      case 0x68: stack.push(memoKey(u8())); break;
      case 0x6a: need(4, 'LONG_BINGET'); stack.push(memoKey(view.getUint32(at, true))); at += 4; break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt}; a state_dict needs only ${Object.values(OPCODES).length} opcodes (${Object.values(OPCODES).slice(0, 4).join(', ')}, ...)`);
    }
  }
}
