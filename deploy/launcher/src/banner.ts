/** Lines of the embedded-mode banner, printed as plain text (not JSON) so a person reads it first. */
export function renderEmbeddedBanner(options: {
  url: string;
  services: readonly string[];
  chatUrl?: string;
  /** Whether the gateway serves development tokens (`POST /v1/dev/token`). */
  devTokens?: boolean;
}): string {
  const { url } = options;
  return [
    '',
    '================================================================================',
    ' chatmesh: EMBEDDED MODE IS NOT DURABLE',
    ' In-process bus and stores: every message, topic and offset is lost on exit.',
    ' For trying it out and for tests. For real servers: `npm run stack`.',
    '================================================================================',
    ...(options.chatUrl ? [` chat     : ${options.chatUrl}/   <- open in a browser, pick a name, chat`] : []),
    ...(options.chatUrl && options.devTokens
      ? [
          ` tokens   : ${options.chatUrl}/v1/dev/token signs a token for ANY user, no password:`,
          '            DEVELOPMENT ONLY, served on loopback only (CHATMESH_GATEWAY_DEV_TOKENS)',
        ]
      : []),
    ` services : ${options.services.join(', ')}`,
    ` ops      : ${url}/`,
    ` health   : ${url}/health`,
    ` ready    : ${url}/ready`,
    ` metrics  : ${url}/metrics`,
    ' stop     : Ctrl-C (or SIGTERM)',
    '',
  ].join('\n');
}
