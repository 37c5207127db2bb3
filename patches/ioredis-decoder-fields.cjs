/**
 * How patches/ioredis+6.0.0.patch was made: ioredis 6.0.0 ships its RESP decoder
 * (built/resp/decoder.js) compiled with TypeScript's downlevelled `#private` fields, so
 * every read or write of the decoder's cursor is a WeakMap lookup through
 * __classPrivateFieldGet/Set, and every call of one of its methods goes through one too.
 * This rewrites them, mechanically, to plain properties (`this._cursor`, `this._next`,
 * `this._pushTypeMapping`) and direct calls; nothing else changes. The same decoder in
 * @redis/client, compiled with native private fields, decodes at the patched speed.
 *
 *   node patches/ioredis-decoder-fields.cjs <decoder.js> <out.js>
 *
 * then copy <out.js> over node_modules/ioredis/built/resp/decoder.js and run
 * `npx patch-package ioredis`. test/unit/ioredis-decoder-patch.test.ts checks the result.
 */
const fs = require("fs")
let s = fs.readFileSync(process.argv[2], "utf8")
const FIELDS = ["cursor", "next", "pushTypeMapping"]
// Methods: __classPrivateFieldGet(this, _Decoder_instances, "m", _Decoder_X) -> _Decoder_X
s = s.replace(/__classPrivateFieldGet\(this, _Decoder_instances, "m", (_Decoder_\w+)\)/g, "$1")
// Static: __classPrivateFieldGet(_a, _a, "f", _Decoder_X) -> _Decoder_X.value
s = s.replace(/__classPrivateFieldGet\(_a, _a, "f", (_Decoder_\w+)\)/g, "$1.value")
for (const f of FIELDS) s = s.split(`__classPrivateFieldGet(this, _Decoder_${f}, "f")`).join(`this._${f}`)
// Sets: __classPrivateFieldSet(this, _Decoder_f, EXPR, "f") -> (this._f = EXPR), with balanced parentheses.
for (const f of FIELDS) {
  const head = `__classPrivateFieldSet(this, _Decoder_${f}, `
  for (;;) {
    const at = s.indexOf(head)
    if (at < 0) break
    let depth = 1, i = at + head.length
    for (; i < s.length && depth > 0; i++) { if (s[i] === "(") depth++; else if (s[i] === ")") depth--; }
    const inner = s.slice(at + head.length, i - 1)
    if (!inner.endsWith(', "f"')) throw new Error("unexpected set at " + at + ": " + inner.slice(-40))
    s = s.slice(0, at) + `(this._${f} = ${inner.slice(0, -5)})` + s.slice(i)
  }
  s = s.split(`_Decoder_${f}.set(this, 0);`).join(`this._${f} = 0;`).split(`_Decoder_${f}.set(this, void 0);`).join(`this._${f} = void 0;`)
}
s = s.split(`_Decoder_instances.add(this);`).join("")
if (/__classPrivateField/.test(s.replace(/var __classPrivateField[GS]et[^\n]*\n(    [^\n]*\n)*?};\n/g, ""))) {
  const left = s.match(/.*__classPrivateField.*/g).filter((l) => !l.startsWith("var __classPrivateField"))
  console.error("left:", left.slice(0, 5))
}
fs.writeFileSync(process.argv[3], s)
