/**
 * The template's data dir as a tar, both ways, on PGlite's emscripten file system: written by the template build
 * after the backend shut down cleanly, and loaded into each engine's in-memory file system as views of the one
 * shared copy of the tar that all the engines of a process read (see template.ts's readTemplate).
 */
import { concat } from './frames.js';

/** The parts of emscripten's FS (PGlite's `mod.FS`) and of its MEMFS nodes used here. */
export interface EmscriptenFs {
  readdir(path: string): string[];
  unlink(path: string): void;
  mkdirTree(path: string): void;
  readFile(path: string): Uint8Array;
  stat(path: string): { mode: number };
  isDir(mode: number): boolean;
  isFile(mode: number): boolean;
  lookupPath(path: string): { node: MemfsNode };
}

interface MemfsNode {
  contents: Uint8Array | Record<string, MemfsNode>;
  usedBytes: number;
  stream_ops: StreamOps;
  node_ops: { mknod(parent: MemfsNode, name: string, mode: number, dev: number): MemfsNode };
}

interface Stream {
  node: MemfsNode;
}

type Write = (
  stream: Stream,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
  canOwn?: boolean,
) => number;

interface StreamOps {
  write: Write;
  msync(stream: Stream, buffer: Uint8Array, offset: number, length: number, flags: number): number;
  [op: string]: unknown;
}

/** The modes emscripten gives what FS.mkdir and FS.writeFile create (rwx for all; PGlite checks none). */
const DIR_MODE = 0o40777;
const FILE_MODE = 0o100666;

const BLOCK = 512;

/** PGlite's data dir in its file system, whatever the dataDir option. */
export const dataDir = '/pglite/data';

/**
 * A ustar archive of `root` (directories before what they hold), in the layout PGlite's own dumpDataDir writes
 * and untarShared reads. Used once the backend has exited: PGlite's dumpDataDir needs an open database, and a
 * data dir taken from a running backend says it was not shut down, so every engine opened from it ran crash
 * recovery (WAL replay, an end-of-recovery checkpoint, the relcache init files thrown away and rebuilt).
 */
export function tarOf(fs: EmscriptenFs, root: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const walk = (dir: string, relative: string) => {
    for (const name of fs.readdir(dir).sort()) {
      if (name === '.' || name === '..') continue;
      const file = `${dir}/${name}`;
      const entry = relative ? `${relative}/${name}` : name;
      const { mode } = fs.stat(file);
      if (fs.isDir(mode)) {
        parts.push(header(entry, 0, '5'));
        walk(file, entry);
      } else if (fs.isFile(mode)) {
        const data = fs.readFile(file);
        parts.push(header(entry, data.length, '0'), data);
        const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
        if (pad) parts.push(new Uint8Array(pad));
      }
    }
  };
  walk(root, '');
  parts.push(new Uint8Array(2 * BLOCK));
  return concat(parts);
}

function header(entry: string, size: number, type: '0' | '5'): Uint8Array {
  const h = Buffer.alloc(BLOCK);
  let name = entry;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits a long path at a slash: up to 155 bytes of prefix, up to 100 of name.
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || name.length - cut - 1 > 100) throw new Error(`template tar: path too long "${entry}"`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  h.write(name, 0, 'latin1');
  h.write(`${(type === '5' ? 0o755 : 0o644).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h[156] = type.charCodeAt(0);
  h.write('ustar\x0000', 257, 'latin1');
  h.write(prefix, 345, 'latin1');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/**
 * Fills `root` from the tar, each file's contents a view of `tar` itself: the engines of a process share one copy
 * of the template (a SharedArrayBuffer) instead of holding one each. MEMFS writes a file in place when the write
 * fits in it, which would change every engine's copy, so each file copies its contents before its first write
 * (most files are never written: the catalogs of 2,466 tables an engine never touches). Nodes are made directly
 * (each directory looked up once): FS.writeFile per file resolved the whole path each time, 0.3 s for the
 * 7,800 files of every type.
 */
export function untarShared(fs: EmscriptenFs, tar: Uint8Array, root: string): void {
  const text = (at: number, length: number) => {
    let end = at;
    while (end < at + length && tar[end] !== 0) end++;
    return Buffer.from(tar.buffer, tar.byteOffset + at, end - at).toString('latin1');
  };
  fs.mkdirTree(root);
  const rootNode = fs.lookupPath(root).node;
  const dirs = new Map<string, MemfsNode>([['', rootNode]]);
  let copyOnWrite: StreamOps | undefined;
  const dirOf = (relative: string): MemfsNode => {
    const known = dirs.get(relative);
    if (known) return known;
    const slash = relative.lastIndexOf('/');
    const parent = dirOf(slash < 0 ? '' : relative.slice(0, slash));
    const name = relative.slice(slash + 1);
    const existing = (parent.contents as Record<string, MemfsNode>)[name];
    const node = existing ?? parent.node_ops.mknod(parent, name, DIR_MODE, 0);
    dirs.set(relative, node);
    return node;
  };
  for (let at = 0; at + BLOCK <= tar.length;) {
    const name = text(at, 100);
    if (name === '') break;
    const prefix = text(at + 345, 131);
    const size = parseInt(text(at + 124, 12).trim() || '0', 8);
    const type = tar[at + 156];
    const relative = (prefix ? `${prefix}/${name}` : name).replace(/^\/+|\/+$/g, '');
    const parts = relative.split('/');
    if (parts.includes('..') || parts.includes('.'))
      throw new Error(`template tar: unexpected path "${relative}"`);
    at += BLOCK;
    if (type === 0x35 /* '5', directory */) {
      if (relative) dirOf(relative);
    } else if (type === 0x30 /* '0' */ || type === 0) {
      const slash = relative.lastIndexOf('/');
      const parent = dirOf(slash < 0 ? '' : relative.slice(0, slash));
      const file = parent.node_ops.mknod(parent, relative.slice(slash + 1), FILE_MODE, 0);
      copyOnWrite ??= copyOnWriteOps(file.stream_ops, tar.buffer);
      file.stream_ops = copyOnWrite;
      file.contents = tar.subarray(at, at + size);
      file.usedBytes = size;
    } else {
      throw new Error(`template tar: unexpected entry type ${type} for "${relative}"`);
    }
    at += Math.ceil(size / BLOCK) * BLOCK;
  }
}

/** MEMFS's file operations, but a file still viewing the shared tar gets its own copy before it is written. */
function copyOnWriteOps(memfs: StreamOps, shared: ArrayBufferLike): StreamOps {
  const own = (stream: Stream) => {
    const node = stream.node;
    const contents = node.contents as Uint8Array;
    // slice() of a view of shared memory makes an ordinary, private ArrayBuffer.
    if (contents.buffer === shared) node.contents = contents.slice(0, node.usedBytes);
  };
  const write: Write = (stream, buffer, offset, length, position, canOwn) => {
    own(stream);
    return memfs.write(stream, buffer, offset, length, position, canOwn);
  };
  return {
    ...memfs,
    write,
    // MEMFS's msync calls its own write directly: route it through the copy too.
    msync: (stream, buffer, offset, length) => (write(stream, buffer, 0, length, offset, false), 0),
  };
}
