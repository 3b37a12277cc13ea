// The package's version, from package.json (the bundlers inline this one field).
export { version as VERSION } from '../package.json';
