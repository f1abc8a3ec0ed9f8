// The container's HEALTHCHECK: exit 0 when this instance's /healthz answers 200 on loopback, else 1.
// With TLS_CERT_FILE set the server speaks only HTTPS; a loopback liveness probe does not check the
// certificate's name (it is issued for the public host name, not 127.0.0.1) and sends nothing secret.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const port = Number(process.env.PORT || 4000);
const tls = Boolean(process.env.TLS_CERT_FILE);
const get = tls ? httpsGet : httpGet;
const request = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4_000, ...(tls ? { rejectUnauthorized: false } : {}) }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => process.exit(1));
