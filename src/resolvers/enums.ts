import { registerEnumType } from 'type-graphql';
import { AppKind, AppRole, ReleaseStrategy } from '../domain/apps/app-kind.js';
import { TokenScope } from '../domain/people/token-scope.js';

registerEnumType(AppKind, { name: 'AppKind', description: 'The runtime an app is built for.' });
registerEnumType(AppRole, {
  name: 'AppRole',
  description:
    "A member's role on an app: OWNER edits the app and its members, DEVELOPER releases, VIEWER reads.",
});
registerEnumType(ReleaseStrategy, {
  name: 'ReleaseStrategy',
  description: 'How a release replaces the running version.',
});
registerEnumType(TokenScope, {
  name: 'TokenScope',
  description:
    'What an API token may do: READ queries, WRITE mutations, ADMIN platform administration.',
});

export { AppKind, AppRole, ReleaseStrategy, TokenScope };
