/** The subset of apiserver validation the simulator enforces (422 Invalid). */
import { invalid, required, type Cause } from './errors.js';
import type { ResourceDef } from './resources.js';
import { labelSelectorMatcher } from './selectors.js';
import type { Obj } from './types.js';

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function goMap(m: Obj | undefined): string {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return `map[string]string{${entries.map(([k, v]) => `"${k}":"${String(v)}"`).join(', ')}}`;
}

function validateTemplate(causes: Cause[], spec: Obj, prefix: string): void {
  if (!spec.selector) {
    causes.push(required(`${prefix}.selector`));
  } else if (!spec.selector.matchLabels && !spec.selector.matchExpressions) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: "null": empty selector is invalid for deployment', field: `${prefix}.selector` });
  }
  const t = spec.template;
  if (!t) {
    causes.push(required(`${prefix}.template`));
    return;
  }
  if (spec.selector && (spec.selector.matchLabels || spec.selector.matchExpressions)) {
    let matches = false;
    try {
      matches = labelSelectorMatcher(spec.selector)(t.metadata?.labels ?? {});
    } catch {
      matches = false;
    }
    if (!matches)
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${goMap(t.metadata?.labels)}: \`selector\` does not match template \`labels\``,
        field: `${prefix}.template.metadata.labels`,
      });
  }
  validatePodSpec(causes, t.spec, `${prefix}.template.spec`);
  if (typeof spec.replicas === 'number' && spec.replicas < 0)
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`, field: `${prefix}.replicas` });
}

function validatePodSpec(causes: Cause[], spec: Obj | undefined, prefix: string): void {
  const cs = spec?.containers;
  if (!Array.isArray(cs) || cs.length === 0) {
    causes.push(required(`${prefix}.containers`));
    return;
  }
  cs.forEach((c: Obj, i: number) => {
    if (!c?.name) causes.push(required(`${prefix}.containers[${i}].name`));
    if (!c?.image) causes.push(required(`${prefix}.containers[${i}].image`));
  });
}

/** Throws 422 when the object is invalid. `old` is set for updates (immutable fields). */
export function validateObject(def: ResourceDef, o: Obj, old?: Obj): void {
  const causes: Cause[] = [];
  const name: string = o.metadata?.name ?? '';
  if (!name) causes.push(required('metadata.name'));
  else if (def.kind !== 'Event' && (name.length > 253 || !NAME_RE.test(name)))
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      field: 'metadata.name',
    });
  switch (def.kind) {
    case 'Deployment':
    case 'ReplicaSet':
      validateTemplate(causes, o.spec ?? {}, 'spec');
      if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(o.spec?.selector))
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(o.spec?.selector)}: field is immutable`, field: 'spec.selector' });
      break;
    case 'Pod':
      validatePodSpec(causes, o.spec, 'spec');
      break;
    case 'Service':
      if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(o.spec?.type))
        causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: "${o.spec?.type}"`, field: 'spec.type' });
      if (o.spec?.type !== 'ExternalName' && (!Array.isArray(o.spec?.ports) || o.spec.ports.length === 0))
        causes.push(required('spec.ports'));
      break;
    case 'HorizontalPodAutoscaler':
      if (!o.spec?.scaleTargetRef?.name) causes.push(required('spec.scaleTargetRef.name'));
      if (!(typeof o.spec?.maxReplicas === 'number' && o.spec.maxReplicas >= 1))
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(o.spec?.maxReplicas ?? 0)}: must be greater than or equal to 1`, field: 'spec.maxReplicas' });
      break;
    default:
      break;
  }
  if (causes.length) throw invalid(def, name, causes);
}
