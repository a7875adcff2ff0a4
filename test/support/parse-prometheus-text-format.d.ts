// The package ships no types: what the tests use of it.
declare module 'parse-prometheus-text-format' {
  export default function parse(text: string): unknown[];
}
