// The part of buffer-layout's API Warren uses (the package ships no types).
declare module 'buffer-layout' {
  export interface Layout<T = unknown> {
    readonly span: number;
    decode(b: Buffer, offset?: number): T;
    encode(src: T, b: Buffer, offset?: number): number;
  }
  interface BufferLayout {
    struct<T>(fields: Layout<unknown>[], property?: string): Layout<T>;
    u8(property?: string): Layout<number>;
    u16be(property?: string): Layout<number>;
    u32be(property?: string): Layout<number>;
    nu64be(property?: string): Layout<number>;
  }
  const layout: BufferLayout;
  export default layout;
}
