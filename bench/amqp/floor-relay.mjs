// A broker that does nothing: the first connection is the consumer, the second the publisher; every
// byte the publisher sends is written to the consumer as it arrives, what the consumer sends (its
// acknowledgements) is read and dropped. Plain JavaScript, started as its own process by floor.ts.
import net from 'node:net';

let sink = null;
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  if (sink === null || sink.destroyed) {
    sink = socket;
    socket.on('data', () => undefined);
    return;
  }
  const out = sink;
  socket.on('data', (chunk) => out.write(chunk));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
