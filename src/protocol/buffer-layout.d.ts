// The part of buffer-layout's API Warren uses (the package ships no types).
declare module 'buffer-layout' {
  export interface Layout<T = unknown> {
    readonly span: number;
    decode(b: Buffer, offset?: number): T;
    encode(src: T, b: Buffer, offset?: number): number;
  }
  export function struct<T>(fields: Layout<unknown>[], property?: string): Layout<T>;
  export function u8(property?: string): Layout<number>;
  export function u16be(property?: string): Layout<number>;
  export function u32be(property?: string): Layout<number>;
  export function nu64be(property?: string): Layout<number>;
}
