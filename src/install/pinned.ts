// Written by `npm run bump-codex`; edit with that script, not by hand.
// Read from the npm registry when the pin moved and reviewed in that pull request. Installs of these
// versions are verified against these tables, not against what a registry or a cache says at run time.
import type { TreeManifest } from './tree.js'

export const DEFAULT_CODEX_VERSION = '0.169.0'

/** The sha512 integrity of every platform tarball of the pinned version and a few before it. */
export const PINNED_INTEGRITY: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '0.169.0': {
    'linux-x64': 'sha512-o05NyAOCDygSPRo1yinzxvkRSdmsZyBD9E7mbpmjRanSfM8lypqWtQgEo4XfNkwhuCR2aFu8mlGOsQGFXVbVww==',
    'linux-arm64': 'sha512-NZ/DaQUpcQmxmqee7Z9uC1rzw3GhSbooawcaTe1LN5Yk+WlinUKGdTXJgClRT/9ogQEEM9TWxYzvxPfj5G/xFg==',
    'darwin-x64': 'sha512-K1FKSsSLl9v3z5TeagBQXyQRDBIGB5Jncy5dxsRxwT3aaTqN3AI8VrCfoxBxKMOOU9O2QX1vg7WkBwNVth/s9A==',
    'darwin-arm64': 'sha512-5WsWFBbVP78D+6FvNo1MMVxLPZdmcoQlqVJFrF4qx/TmvneLnMQKtLyXkUo54XOTDfoYKpNouTJ/F7gTVA8FnQ==',
    'win32-x64': 'sha512-nC+McFU8xRNL9tk3IhxcKdhcyOElwF/HhPO+gzSQCY7yjh3XdzSajX+MYWcHUVHWRHajfwn3/WgJYJK2wS+XWg==',
    'win32-arm64': 'sha512-nTN9SpkacGohq60+I80R3t0R8Mhbnlt3OVYNahgAv1Gu77KFwhPc0vz9Ou/DAGDtYhKVWA/jiYXJXnlzkwb/JA=='
  }
}

/**
 * Every file the action installs from those tarballs (the platform's vendor folder without the voice
 * runtime), as '<mode> <sha256 hex>', computed from the verified tarball. A tree restored from the
 * Actions cache must match it exactly before anything in it runs.
 */
export const PINNED_FILES: Readonly<Record<string, Readonly<Record<string, TreeManifest>>>> = {
  '0.169.0': {
    'linux-x64': {
      'bin/codex': '755 b452ca20f838a8855a88a41050ee4a694033fff4ea3ecdad5633e6e0e8d13f2b',
      'bin/codex-code-mode-host': '755 e9f2ef68671b2b6ac68902d19e8dafda3f5928e678ecf3f30c74b203a2c403ed',
      'codex-package.json': '644 28811e0083d220befc827d711fb8c9f4b7f85825b11164ff154e15cfe2540715',
      'codex-path/rg': '755 e62198eb19b136b88c330af83647b5a962cb99b6b1f066758568f12de1974849',
      'codex-resources/bwrap': '755 15fd5f2673d2e1c2f80e34e5108462fd014f5e8bbc7b0731f1ab23d1ff1ac140'
    },
    'linux-arm64': {
      'bin/codex': '755 3bb41c9a80187773e2a59278d4fc355b1a163c31bb5a79581e37d4fe428af047',
      'bin/codex-code-mode-host': '755 66874c7881c4004f1c155584e1325cad17795bdd91b886995ad8a043809c1019',
      'codex-package.json': '644 0418574f72dd719683fb7415c3013e248c675ef2400ff9eb4e11e583b5d6a25c',
      'codex-path/rg': '755 e36d0eb52e70696bdf1781392722e05a21bb91d3b7b762ef5ec20e5df2ec687b',
      'codex-resources/bwrap': '755 0f543a7356ab343b4827222f910461d4196778f328b28acd6c126ef18e9557ab'
    },
    'darwin-x64': {
      'bin/codex': '755 e57da7be8695c079d2d1d156dab79708e43ebb6cf7e34527b8b01d6aa942788e',
      'bin/codex-code-mode-host': '755 f03490828eb48754f722b14b0d39e7f6d3796293c72680390b2ca03af18dcdb1',
      'codex-package.json': '644 eefa2ad47c53f3657a0481b0f9ef20e21850cfc382834b967dc2cff1ca09bfd5',
      'codex-path/rg': '755 288635d61ec4321d2f3e6dca868c02d50b2b0abba63c62bf3af3ba3fe8da0ada'
    },
    'darwin-arm64': {
      'bin/codex': '755 739cda86e15d30a6e2b40cf8dcbbfb988aaf48b305b27065573bb8e9fd41d002',
      'bin/codex-code-mode-host': '755 10feae2abe764bcf2273e241ace67aecc360eb8c28a82a2988bf1d8498a9bacf',
      'codex-package.json': '644 3723fe22480c3863025f2e09a89c912f1e3906b9e70d57077d51deb555a8b6b3',
      'codex-path/rg': '755 2caf75aae63d8fd944456686d5241f4864f5e2a930e0a93434e121873f7ff6bf'
    },
    'win32-x64': {
      'bin/codex-code-mode-host.exe': '755 a8da671dfabef13a370e0a06864586f52932b477f462afa3f0c51ae30d9207a2',
      'bin/codex.exe': '755 ce1945eb440b5481ed1233ebaf32b7056ee7e4e452fa62ffe1cbfb26103cdee0',
      'codex-package.json': '644 30cea19ae5a74454ee5443c0bbfc6cc1f2c7626961b93d68a70452c7ddfded5d',
      'codex-path/rg.exe': '755 14231169855ec5205cf5a1b6f1db358ff4aed4247c86b69ce8aae647c77f6680',
      'codex-resources/codex-command-runner.exe': '755 dbb8ac49c4b36d2de9977710b3400523f2336b7b326bcab7602108e88e0a69b0',
      'codex-resources/codex-windows-sandbox-setup.exe': '755 885a1eda0640970c5aa03be7f3c540dc6f406915f7df2e7fee4b6a5e0fe30765'
    },
    'win32-arm64': {
      'bin/codex-code-mode-host.exe': '755 2d897fe0679211afc3cf3a10bed11f935d623e8fdcbadc50855841b7532e2469',
      'bin/codex.exe': '755 1e0687ba1822cfdbe42ef99daa8fd523c8fb9dca205c579fe40b75afd57071e8',
      'codex-package.json': '644 0751a73ea20c3814e1b09c528fc60dbdf808d94098eb4cbbd045a045c880c21b',
      'codex-path/rg.exe': '755 d33a29a9ef03c9f4c03be9e8d88498e6e2d2e566d64cdbdef97f9afc8f13120c',
      'codex-resources/codex-command-runner.exe': '755 7934bbbe2c91f89d9e71dd89563289f718afbd5bd282eb500548f8c64dc0bccb',
      'codex-resources/codex-windows-sandbox-setup.exe': '755 4a0ebf0282638d4d3ffe268b8e77f37a325af55b0ec4bf4bf6129a8fc2b2bf3b'
    }
  }
}
