// Prints the shipped size of files: raw, gzip -9 and brotli -q 11 (Node's zlib, the same
// algorithms as the gzip and brotli tools), and writes them as JSON if asked.
//
//   node wasm/tools/sizes.mjs [--json out.json] file...
//   node wasm/tools/sizes.mjs --write-compressed DIR   # FILE.br and FILE.gz beside each file
//
// Also a module: `measure(files)` returns the rows and their total, `table(rows)` the text.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import zlib from "node:zlib";

/** `{file, raw, gzip, brotli}` for each file, and their total. */
export function measure(files) {
  const rows = files.map((file) => {
    const bytes = fs.readFileSync(file);
    return {
      file: path.basename(file),
      raw: bytes.length,
      gzip: zlib.gzipSync(bytes, { level: 9 }).length,
      brotli: zlib.brotliCompressSync(bytes, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      }).length,
    };
  });
  const total = rows.reduce(
    (t, r) => ({ file: "total", raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
    { file: "total", raw: 0, gzip: 0, brotli: 0 },
  );
  return { files: rows, total };
}

/** Writes FILE.br (brotli -q 11) and FILE.gz (gzip -9) beside every file under `dir`. */
export function writeCompressed(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || /\.(br|gz|json)$/.test(entry.name)) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(bytes, { level: 9 }));
    fs.writeFileSync(
      `${file}.br`,
      zlib.brotliCompressSync(bytes, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      }),
    );
  }
}

/** The rows (and the total) as an aligned text table. */
export function table({ files, total }) {
  const all = [...files, total];
  const width = Math.max(...all.map((r) => r.file.length));
  const num = (n) => n.toLocaleString("en-US").padStart(11);
  const lines = [`${"file".padEnd(width)}  ${"raw".padStart(11)}  ${"gzip -9".padStart(11)}  ${"brotli -q11".padStart(11)}`];
  for (const r of all) lines.push(`${r.file.padEnd(width)}  ${num(r.raw)}  ${num(r.gzip)}  ${num(r.brotli)}`);
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  if (args[0] === "--write-compressed") {
    writeCompressed(args[1]);
    process.exit(0);
  }
  let jsonOut = null;
  if (args[0] === "--json") {
    jsonOut = args[1];
    args.splice(0, 2);
  }
  if (args.length === 0) {
    console.error("usage: sizes.mjs [--json out.json] file...");
    process.exit(2);
  }
  const sizes = measure(args);
  console.log(table(sizes));
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(sizes, null, 2) + "\n");
}
