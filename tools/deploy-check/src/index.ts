export { DeployCheckError } from './errors.js';
export { REPO_ROOT, repoPath } from './repo.js';
export {
  loadYamlDocuments,
  loadYamlObject,
  isObject,
  type YamlDocument,
  type YamlObject,
} from './yaml/load.js';
export { renderKustomization, splitImage, isBuiltIn, metadataOf, type Manifest } from './kustomize/render.js';
export { strategicMerge, jsonMergePatch } from './kustomize/merge.js';
export { validateManifests } from './k8s/validate.js';
export { checkUnknownFields, type StrictCheckInput } from './k8s/strict-fields.js';
export { modelLocation, type ModelLocation } from './k8s/models.js';
export { loadComposeFile, type ComposeFile } from './compose/load.js';
export { interpolate } from './compose/interpolate.js';
export {
  composeWorkloads,
  kubernetesWorkloads,
  podSpecOf,
  asList,
  type EnvAssignment,
  type Workload,
} from './env/workloads.js';
export { checkWorkloadEnv, requiredVariables, type EnvCheckOptions } from './env/check.js';
export {
  parseDockerfile,
  imageConfig,
  deployedImage,
  nodeCommand,
  nodeMajor,
  type Stage,
  type ImageConfig,
} from './docker/dockerfile.js';
export { deployPackage, runEntry, type DeployedPackage } from './docker/deploy-package.js';
