// Reference encoder for the tokenizer tests: encodes a UTF-8 text file with the official tiktoken
// npm package and writes the ids as little-endian uint32.
//
//   node tiktoken_reference.js --encoding cl100k_base --text in.txt --out ids.bin
//   node tiktoken_reference.js --ranks tokenizer.model --pattern-file pattern.txt --text in.txt --out ids.bin
//
// With --ranks, the tiktoken-format rank file ("<base64> <rank>" lines) is handed to tiktoken's own
// constructor, so tiktoken (not our code) does the BPE. Special-token text is encoded as ordinary
// text (allowed and disallowed special sets empty), as the engine does for user text.
"use strict";
const fs = require("fs");
const { get_encoding, Tiktoken } = require("tiktoken");

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  return args;
}

// tiktoken's compressed form: "<marker> <firstRank> <b64> <b64> ...", ranks consecutive.
function compressRankFile(path) {
  const tokens = [];
  for (const line of fs.readFileSync(path, "ascii").split("\n")) {
    if (line.length === 0) continue;
    const [b64, rank] = line.split(" ");
    if (Number(rank) !== tokens.length) throw new Error(`${path}: rank ${rank} out of order`);
    tokens.push(b64);
  }
  return "! 0 " + tokens.join(" ");
}

const args = parseArgs(process.argv.slice(2));
const encoder = args.encoding
  ? get_encoding(args.encoding)
  : new Tiktoken(compressRankFile(args.ranks), {}, fs.readFileSync(args["pattern-file"], "utf8"));
const text = fs.readFileSync(args.text, "utf8");
const started = process.hrtime.bigint();
const ids = encoder.encode(text, [], []);
const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
encoder.free();
fs.writeFileSync(args.out, Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength));
console.log(`tiktoken: ${ids.length} ids in ${elapsedMs.toFixed(1)} ms`);
