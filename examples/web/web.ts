// `npm run web [-- --port N] [-- --no-isolation]`: builds the package, then serves the demo.
import { parseArgs } from 'node:util';
import { startDemoServer } from './server.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '5173' }, 'no-isolation': { type: 'boolean', default: false } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer in [0, 65535]; received \`--port ${values.port}\``);
  process.exit(2);
}
const server = await startDemoServer({ port, isolated: !values['no-isolation'] }).catch((error: NodeJS.ErrnoException) => {
  console.error(error.code === 'EADDRINUSE'
    ? `port ${port} on 127.0.0.1 is in use; stop what serves it or pick another: npm run web -- --port N`
    : `cannot serve the demo: ${error.message}`);
  process.exit(2);
});
console.log(`demo at ${server.url} (${values['no-isolation'] ? 'not ' : ''}cross-origin isolated); Ctrl-C stops it`);
