// getopt(3) as macOS's libc has it: apple-oss-distributions/Libc stdlib/FreeBSD/getopt.c (BSD's,
// not GNU's). The simulated BSD tools (stat, newsyslog) parse their options with this one model;
// each caller keeps its own reaction to an error (usage line, exit code) as its C source does.
//
// What getopt.c does, and this model with it:
// - options cluster (`-nq`); an option whose optstring letter is followed by `:` takes the rest of
//   the word (`-fFMT`) or, when that is empty, the whole next word (`-f FMT`, even one starting
//   with `-`);
// - `--` alone ends the options and is consumed; `-` alone ends them and is an operand (unless the
//   optstring has `-`, as su's does); so does the first word not starting with `-`: BSD getopt
//   does not permute, options after an operand are operands;
// - an unknown letter (and `:` always) prints `<prog>: illegal option -- c`; a missing argument
//   prints `<prog>: option requires an argument -- c`; both return '?', and an optstring starting
//   with `:` silences both (a missing argument then returns ':');
// - `x::` (getopt.c's GNU extension): the argument is only ever the rest of the word.
// <prog> is getopt.c's PROGNAME, nargv[0] on macOS (__DARWIN_UNIX03): the name the tool was run
// by. The simulator's tools do not see argv[0], so callers pass the tool's name.
// getopt.c walks bytes; this walks UTF-16 code units. Every optstring here is ASCII, so a
// non-ASCII letter is illegal either way; only the letter echoed in the message could differ.

/** One option getopt(3) returned, in argv order; `arg` is its optarg, when the optstring asks for one. */
export interface Option {
  opt: string;
  arg?: string;
}

/** getopt(3)'s '?' (or ':' when the optstring starts with `:`): the first error, where the loop stops. */
export interface GetoptError {
  kind: "illegal" | "missing";
  /** optopt: the letter at fault. */
  optopt: string;
  /** What getopt.c writes to stderr: empty when the optstring starts with `:` (opterr's silence). */
  message: string;
}

export interface GetoptResult {
  /** The options before the end of the options (or before the error), in argv order. */
  options: Option[];
  /** argv from optind on: the operands. */
  operands: string[];
  error?: GetoptError;
}

/**
 * Runs getopt(3)'s loop over argv (without argv[0]) until it returns -1 or its first '?'. Every
 * caller's switch ends in `default: usage()`, which exits, so nothing after the first error is
 * ever parsed; the options before it are returned so a caller can react to them in argv order.
 */
export function getopt(prog: string, argv: readonly string[], optstring: string): GetoptResult {
  const options: Option[] = [];
  let optind = 0;
  // getopt.c's `place`: what is left of the word being scanned; "" is its EMSG.
  let place = "";
  const end = (error?: GetoptError): GetoptResult => ({ options, operands: argv.slice(optind), error });
  const silent = optstring.startsWith(":");
  for (;;) {
    let optopt: string;
    if (place === "") {
      const word = argv[optind];
      // "Argument is absent or is not an option"
      if (word === undefined || !word.startsWith("-")) return end();
      optopt = word.charAt(1);
      place = word.slice(2);
      // "--" => end of options
      if (optopt === "-" && place === "") {
        optind++;
        return end();
      }
      // Solitary '-': an option only for a program that lists '-' (su); else an operand.
      if (optopt === "") {
        if (!optstring.includes("-")) return end();
        optopt = "-";
      }
    } else {
      optopt = place.charAt(0);
      place = place.slice(1);
    }
    const oli = optopt === ":" ? -1 : optstring.indexOf(optopt);
    if (oli < 0) {
      if (place === "") optind++;
      return end({ kind: "illegal", optopt, message: silent ? "" : `${prog}: illegal option -- ${optopt}\n` });
    }
    if (optstring[oli + 1] !== ":") {
      if (place === "") optind++;
      options.push({ opt: optopt });
      continue;
    }
    // "Option-argument is either the rest of this argument or the entire next argument."
    let arg: string | undefined;
    if (place !== "") arg = place;
    else if (optstring[oli + 2] === ":") arg = undefined;
    else if (argv.length > ++optind) arg = argv[optind];
    else {
      // __DARWIN_UNIX03: optind ends past the last argument.
      optind++;
      return end({
        kind: "missing",
        optopt,
        message: silent ? "" : `${prog}: option requires an argument -- ${optopt}\n`,
      });
    }
    place = "";
    optind++;
    options.push(arg === undefined ? { opt: optopt } : { opt: optopt, arg });
  }
}
