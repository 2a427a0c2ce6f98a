// The simulator's getopt(3) model (tools/getopt.ts) against what apple-oss-distributions/Libc
// stdlib/FreeBSD/getopt.c does with the same argv and optstring. Pure function: no processes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getopt } from "./tools/getopt";

const STAT = "f:FlLnqrst:x";

describe("getopt(3) as macOS's libc has it", () => {
  it("clusters flags: `-nq` is -n then -q", () => {
    assert.deepEqual(getopt("stat", ["-nq", "a"], STAT), {
      options: [{ opt: "n" }, { opt: "q" }],
      operands: ["a"],
      error: undefined,
    });
  });

  it("takes an option's argument from the rest of the word, else the whole next word (even one starting with -)", () => {
    assert.deepEqual(getopt("stat", ["-f%u", "x"], STAT).options, [{ opt: "f", arg: "%u" }]);
    assert.deepEqual(getopt("stat", ["-Lf", "%u", "x"], STAT), {
      options: [{ opt: "L" }, { opt: "f", arg: "%u" }],
      operands: ["x"],
      error: undefined,
    });
    assert.deepEqual(getopt("stat", ["-f", "-n", "x"], STAT).options, [{ opt: "f", arg: "-n" }]);
    // The rest of a cluster after an option that takes an argument is that argument.
    assert.deepEqual(getopt("stat", ["-nfL"], STAT).options, [{ opt: "n" }, { opt: "f", arg: "L" }]);
    assert.deepEqual(getopt("stat", ["-f", ""], STAT).options, [{ opt: "f", arg: "" }]);
  });

  it("`--` ends the options and is consumed; a second `--` is an operand", () => {
    assert.deepEqual(getopt("stat", ["-n", "--", "-q", "--"], STAT), {
      options: [{ opt: "n" }],
      operands: ["-q", "--"],
      error: undefined,
    });
  });

  it("`-` alone ends the options and stays an operand, unless the optstring lists '-'", () => {
    assert.deepEqual(getopt("stat", ["-n", "-", "-q"], STAT).operands, ["-", "-q"]);
    assert.deepEqual(getopt("p", ["-", "user"], "-flm"), {
      options: [{ opt: "-" }],
      operands: ["user"],
      error: undefined,
    });
  });

  it("does not permute: the first word not starting with - ends the options", () => {
    assert.deepEqual(getopt("stat", ["file", "-n"], STAT), { options: [], operands: ["file", "-n"], error: undefined });
    assert.deepEqual(getopt("stat", ["", "-n"], STAT).operands, ["", "-n"]);
  });

  it("an unknown letter (and `:`, and `--x`'s `-`) is `<prog>: illegal option -- c`; the options before it are kept", () => {
    const r = getopt("stat", ["-n", "-Lc", "x"], STAT);
    assert.deepEqual(r.options, [{ opt: "n" }, { opt: "L" }]);
    assert.deepEqual(r.error, { kind: "illegal", optopt: "c", message: "stat: illegal option -- c\n" });
    assert.equal(getopt("stat", ["-:"], STAT).error?.message, "stat: illegal option -- :\n");
    assert.equal(getopt("stat", ["--f"], STAT).error?.message, "stat: illegal option -- -\n");
  });

  it("a missing argument is `<prog>: option requires an argument -- c`, optind past the end", () => {
    assert.deepEqual(getopt("newsyslog", ["-n", "-f"], "a:d:f:nrsvCD:FNR:"), {
      options: [{ opt: "n" }],
      operands: [],
      error: { kind: "missing", optopt: "f", message: "newsyslog: option requires an argument -- f\n" },
    });
    assert.equal(getopt("stat", ["-nt"], STAT).error?.message, "stat: option requires an argument -- t\n");
  });

  it("an optstring starting with `:` silences both messages; `x::` takes only an attached argument", () => {
    assert.deepEqual(getopt("p", ["-z"], ":a:").error, { kind: "illegal", optopt: "z", message: "" });
    assert.deepEqual(getopt("p", ["-a"], ":a:").error, { kind: "missing", optopt: "a", message: "" });
    assert.deepEqual(getopt("p", ["-h", "x"], "h::"), { options: [{ opt: "h" }], operands: ["x"], error: undefined });
    assert.deepEqual(getopt("p", ["-hx"], "h::").options, [{ opt: "h", arg: "x" }]);
  });
});
