// kafkajs-snappy ships no types. It exports the factory kafkajs's CompressionCodecs table takes.
declare module 'kafkajs-snappy' {
  const SnappyCodec: () => {
    compress(encoder: { buffer: Buffer }): Promise<Buffer>;
    decompress(buffer: Buffer): Promise<Buffer>;
  };
  export = SnappyCodec;
}
