// The flag definition alone, so a command can declare it without loading the dashboard's server and page.
/** The `--dashboard` flag's help line, the same on every command. */
export const DASHBOARD_FLAG = {
  type: 'string',
  placeholder: '[host:]port',
  description: 'Serve a live web page and /metrics on this port (loopback unless a host is given; 0 picks a free port)',
} as const;
