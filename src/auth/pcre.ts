// RabbitMQ matches policy and permission patterns with Erlang's re (PCRE). This reads a PCRE pattern,
// reports the errors PCRE reports (message and offset, as RabbitMQ shows them) and translates the PCRE
// syntax JavaScript lacks (\Q…\E, possessive quantifiers, POSIX classes, (?P<name>), comments, leading
// option settings) into a RegExp that matches the same names.

export type Compiled = { regex: RegExp } | { error: string; offset: number };

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\t\\n\\v\\f\\r ',
  blank: ' \\t',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: ' -~',
  graph: '!-~',
};

const QUANTIFIER_MAX = 65535;

/** PCRE's reading of `pattern`: a RegExp, or PCRE's complaint and where it was found. */
export function compilePcre(pattern: string): Compiled {
  let out = '';
  let flags = '';
  let i = 0;
  const open: number[] = [];
  /** Whether the last item can take a quantifier. */
  let repeatable = false;
  const fail = (error: string, offset: number): Compiled => ({ error, offset });

  // option settings at the very start, such as (?i), become flags
  for (let m = /^\(\?([imsx]+)\)/.exec(pattern); m !== null; m = /^\(\?([imsx]+)\)/.exec(pattern.slice(i))) {
    for (const f of m[1]) if (f !== 'x' && !flags.includes(f)) flags += f;
    i += m[0].length;
  }

  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return fail('\\ at end of pattern', i + 1);
      if (next === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const literal = pattern.slice(i + 2, end < 0 ? undefined : end);
        out += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end < 0 ? pattern.length : end + 2;
        repeatable = literal.length > 0;
        continue;
      }
      if (next === 'E') {
        i += 2;
        continue;
      }
      out += c + next;
      i += 2;
      repeatable = true;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      let cls = '[';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      // a ] first in a class is a literal in PCRE
      if (pattern[j] === ']') {
        cls += '\\]';
        j++;
      }
      let previous: string | undefined;
      let closed = false;
      while (j < pattern.length) {
        const d = pattern[j];
        if (d === ']') {
          closed = true;
          j++;
          break;
        }
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(j));
        if (posix) {
          const ranges = POSIX_CLASSES[posix[2]];
          if (ranges === undefined) return fail('unknown POSIX class name', j);
          if (posix[1] === '^') return fail('negated POSIX classes are not supported here', j);
          cls += ranges;
          j += posix[0].length;
          previous = undefined;
          continue;
        }
        if (d === '\\') {
          if (j + 1 >= pattern.length) return fail('\\ at end of pattern', j + 1);
          cls += pattern.slice(j, j + 2);
          previous = undefined;
          j += 2;
          continue;
        }
        if (d === '-' && previous !== undefined && pattern[j + 1] !== undefined && pattern[j + 1] !== ']' && pattern[j + 1] !== '\\' && pattern[j + 1] !== '[') {
          const to = pattern[j + 1];
          if (to < previous) return fail('range out of order in character class', j + 1);
          cls += `-${escapeClassChar(to)}`;
          previous = undefined;
          j += 2;
          continue;
        }
        cls += escapeClassChar(d);
        previous = d;
        j++;
      }
      if (!closed) return fail('missing terminating ] for character class', pattern.length);
      out += cls + ']';
      i = j;
      repeatable = true;
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] === '?') {
        const rest = pattern.slice(i + 2);
        if (rest.startsWith('#')) {
          const end = pattern.indexOf(')', i);
          if (end < 0) return fail('missing ) after comment', pattern.length);
          i = end + 1;
          continue;
        }
        if (rest === '') return fail('unrecognized character after (? or (?-', i + 2);
        const named = /^P?<([A-Za-z_][A-Za-z0-9_]*)?(>)?/.exec(rest);
        if (named && !rest.startsWith('<=') && !rest.startsWith('<!')) {
          if (named[1] === undefined || named[2] === undefined) return fail('syntax error in subpattern name (missing terminator)', i + 2 + named[0].length);
          out += `(?<${named[1]}>`;
          open.push(i);
          i += 2 + named[0].length;
          repeatable = false;
          continue;
        }
        const backref = /^P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest);
        if (backref) {
          out += `\\k<${backref[1]}>`;
          i += 2 + backref[0].length;
          repeatable = true;
          continue;
        }
        const group = /^(:|=|!|<=|<!|>)/.exec(rest);
        if (!group) return fail('unrecognized character after (? or (?-', i + 2);
        // an atomic group matches as a plain one does when only testing for a match
        out += group[1] === '>' ? '(?:' : `(?${group[1]}`;
        open.push(i);
        i += 2 + group[1].length;
        repeatable = false;
        continue;
      }
      out += '(';
      open.push(i);
      i++;
      repeatable = false;
      continue;
    }
    if (c === ')') {
      if (open.pop() === undefined) return fail('unmatched parentheses', i);
      out += ')';
      i++;
      repeatable = true;
      continue;
    }
    if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i)))) {
      const q = c === '{' ? /^\{(\d+)(?:(,)(\d*))?\}/.exec(pattern.slice(i))! : undefined;
      const end = q ? i + q[0].length - 1 : i;
      if (!repeatable) return fail('nothing to repeat', end);
      if (q) {
        const min = Number(q[1]);
        const max = q[3] === undefined || q[3] === '' ? undefined : Number(q[3]);
        if (min > QUANTIFIER_MAX || (max !== undefined && max > QUANTIFIER_MAX)) return fail('number too big in {} quantifier', end);
        if (max !== undefined && max < min) return fail('numbers out of order in {} quantifier', end);
      }
      out += q ? q[0] : c;
      i = end + 1;
      // lazy (?) and possessive (+) forms; possessive matches like greedy when only testing for a match
      if (pattern[i] === '?') {
        out += '?';
        i++;
      } else if (pattern[i] === '+') i++;
      repeatable = false;
      continue;
    }
    out += c === '/' ? '\\/' : c === '{' || c === '}' ? `\\${c}` : c;
    i++;
    repeatable = c !== '|' && c !== '^' && c !== '$';
  }
  if (open.length > 0) return fail('missing )', pattern.length);
  try {
    return { regex: new RegExp(out, flags) };
  } catch (err) {
    return fail((err as Error).message, pattern.length);
  }
}

function escapeClassChar(c: string): string {
  return c === '[' || c === '/' ? `\\${c}` : c;
}
