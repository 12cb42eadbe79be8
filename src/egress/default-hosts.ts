/**
 * Hosts the agent may reach under `network: allow-list` unless `default-hosts: false`: the common
 * package registries and GitHub. Every one of them also accepts uploads from anyone with an
 * account there; the agent has no credential for them unless the workflow passes one through.
 * README.md lists the same hosts: keep the two in step.
 */
export const DEFAULT_HOSTS: readonly string[] = [
  // npm and Yarn
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'repo.yarnpkg.com',
  // PyPI
  'pypi.org',
  'files.pythonhosted.org',
  // crates.io
  'crates.io',
  'index.crates.io',
  'static.crates.io',
  // Go module proxy and checksum database
  'proxy.golang.org',
  'sum.golang.org',
  // Maven Central and the Gradle plugin portal
  'repo.maven.apache.org',
  'repo1.maven.org',
  'plugins.gradle.org',
  // RubyGems
  'rubygems.org',
  'index.rubygems.org',
  // NuGet
  'api.nuget.org',
  // Debian and Ubuntu archives (hosted runners use the Azure mirror)
  'deb.debian.org',
  'security.debian.org',
  'archive.ubuntu.com',
  'security.ubuntu.com',
  'azure.archive.ubuntu.com',
  'ports.ubuntu.com',
  // GitHub and its content hosts
  'github.com',
  'api.github.com',
  'codeload.github.com',
  '*.githubusercontent.com',
  'ghcr.io',
  'pkg.github.com',
  'npm.pkg.github.com'
]
