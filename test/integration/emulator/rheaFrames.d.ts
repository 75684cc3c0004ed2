// rhea's frame and terminus codecs (lib/frames.js, lib/terminus.js), which its index does not
// export. Tests use them to encode well-formed frames and to read the emulator's replies.
declare module 'rhea/lib/frames.js' {
  const frames: import('rhea/typings/frames').frames;
  export = frames;
}

declare module 'rhea/lib/terminus.js' {
  const terminus: {
    source(fields: Record<string, unknown>): { described(): unknown };
    target(fields: Record<string, unknown>): { described(): unknown };
  };
  export = terminus;
}
