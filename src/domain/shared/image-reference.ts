/**
 * Container image references as the kubelet parses them (the `distribution/reference` grammar
 * that Docker and containerd use): a reference a real cluster would answer with
 * `InvalidImageName` is refused before a release starts, with a reason, instead of failing on
 * the cluster.
 *
 *     reference  := name [ ":" tag ] [ "@" digest ]
 *     name       := [ domain "/" ] path-component { "/" path-component }   (≤ 255 characters)
 *     domain     := host [ ":" port ]     (a first component with "." or ":", "localhost",
 *                                          or an upper-case letter; otherwise a Docker Hub path)
 *     path-component := [a-z0-9]+ { ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ }
 *     tag        := [\w][\w.-]{0,127}
 *     digest     := sha256:<64 hex> | sha384:<96 hex> | sha512:<128 hex>   (lower-case hex)
 */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
/** The algorithms the kubelet's digest parsing knows, with their exact lower-case hex length. */
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/** Why `image` is not a reference the kubelet would pull, or null when it is one. */
export function imageReferenceProblem(image: string): string | null {
  if (!image) return 'it is empty';
  if (image.length > 512) return 'it is longer than 512 characters';
  let rest = image;
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!DIGEST.test(rest.slice(at + 1)))
      return 'its digest is not sha256:<64>, sha384:<96> or sha512:<128> lower-case hex digits';
    rest = rest.slice(0, at);
  }
  // A tag is after the last ':' that comes after the last '/' (a ':' before it is a port).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    if (!TAG.test(rest.slice(colon + 1)))
      return 'its tag must be letters, digits, "_", "." or "-" (at most 128, not starting with "." or "-")';
    rest = rest.slice(0, colon);
  }
  if (!rest) return 'it has no repository name';
  if (rest.length > 255) return 'its name is longer than 255 characters';
  const parts = rest.split('/');
  const first = parts[0];
  if (
    parts.length > 1 &&
    (first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase())
  ) {
    if (!DOMAIN.test(first)) return `"${first}" is not a registry host[:port]`;
    parts.shift();
  }
  for (const p of parts)
    if (!PATH_COMPONENT.test(p))
      return p === ''
        ? 'it has an empty path component'
        : `"${p}" must be lower-case letters and digits, separated by ".", "_", "__" or "-"`;
  return null;
}

/** Whether `image` is a reference the kubelet would pull. */
export const isValidImage = (image: string): boolean => imageReferenceProblem(image) === null;
