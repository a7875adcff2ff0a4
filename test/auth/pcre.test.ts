// Policy and permission patterns are PCRE, as RabbitMQ reads them: the refusals below are what
// RabbitMQ 3.10.8's management API answered for each pattern (message and offset), and the accepted
// patterns match as PCRE matches them.
import { describe, expect, it } from 'vitest';
import { compilePcre } from '../../src/auth/pcre.js';

describe('PCRE patterns', () => {
  it.each([
    [')', 'unmatched parentheses', 0],
    ['a)b', 'unmatched parentheses', 1],
    ['*', 'nothing to repeat', 0],
    ['+a', 'nothing to repeat', 0],
    ['x**', 'nothing to repeat', 2],
    ['x{2}{3}', 'nothing to repeat', 6],
    ['a{2,1}', 'numbers out of order in {} quantifier', 5],
    ['a{99999}', 'number too big in {} quantifier', 7],
    ['(a', 'missing )', 2],
    ['ab(', 'missing )', 3],
    ['((a)', 'missing )', 4],
    ['[', 'missing terminating ] for character class', 1],
    ['[a', 'missing terminating ] for character class', 2],
    ['[]', 'missing terminating ] for character class', 2],
    ['[^]', 'missing terminating ] for character class', 3],
    ['[z-a]', 'range out of order in character class', 3],
    ['a\\', '\\ at end of pattern', 2],
    ['(?', 'unrecognized character after (? or (?-', 2],
    ['(?<x', 'syntax error in subpattern name (missing terminator)', 4],
  ])('refuses %j as PCRE does', (pattern, error, offset) => {
    expect(compilePcre(pattern)).toEqual({ error, offset });
  });

  it.each([
    ['^ha\\.', ['ha.q'], ['hb.q', 'xha.q']],
    ['.*', ['', 'anything'], []],
    ['', ['x'], []],
    ['(?i)abc', ['ABC', 'xabcx'], ['ab']],
    ['a++b', ['aab'], ['b']],
    ['\\Qa.b\\E', ['a.b'], ['axb']],
    ['(?P<n>x)(?P=n)', ['xx'], ['x']],
    ['a{,3}', ['a{,3}'], ['aaa']],
    ['(?<=a)b', ['ab'], ['b']],
    ['^[[:alpha:]]+$', ['Queue'], ['q1']],
    ['(?#comment)x', ['x'], ['y']],
    ['x{1,2}?y', ['xy'], ['y']],
    ['[]a]', [']', 'a'], ['b']],
    ['a/b', ['a/b'], ['ab']],
  ])('accepts %j and matches as PCRE does', (pattern, matching, other) => {
    const compiled = compilePcre(pattern);
    if (!('regex' in compiled)) throw new Error(`refused: ${compiled.error}`);
    for (const name of matching) expect(compiled.regex.test(name), name).toBe(true);
    for (const name of other) expect(compiled.regex.test(name), name).toBe(false);
  });
});
