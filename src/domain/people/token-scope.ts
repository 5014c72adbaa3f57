/** What an API token may do. ADMIN implies WRITE implies READ. */
export enum TokenScope {
  READ = 'READ',
  WRITE = 'WRITE',
  ADMIN = 'ADMIN',
}
