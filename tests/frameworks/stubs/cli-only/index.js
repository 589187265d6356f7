// A build-time dependency of a framework package was loaded at run time: the framework tests
// only bundle runtime files, which must never import the CLI (see ../../README.md).
throw new Error('maidian framework tests: a CLI-only dependency was loaded (stubbed by overrides)');
