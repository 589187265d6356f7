//! `cargo xtask build-sdk`: builds `sdk-wasm` into the three outputs of the npm package.
//!
//! | target        | output                        | glue                                  | wasm |
//! |---------------|-------------------------------|---------------------------------------|------|
//! | `web`         | `js-wrapper/dist/web/`        | ESM (`wasm-bindgen --target web`) + wrapper `index.js` (ESM) | modern + browser host (`web-host`), `wasm-opt -Oz` |
//! | `node`        | `js-wrapper/dist/node/`       | CommonJS (`--target nodejs`) + wrapper `index.js` (CJS) | the web build's sources and features (its `WebHost` unused) at opt-level 3, `wasm-opt -O3`: a server loads it once, and speed is what counts there |
//! | `miniprogram` | `js-wrapper/miniprogram_dist/`| one `index.js`: wrapper + path loader + glue, CommonJS ES2017 via esbuild + UTF-8 codec | MVP, lowered, validated, brotli |
//! | (with it)     | `js-wrapper/dist/miniprogram-debug/` | none: the same glue as `miniprogram_dist` (checked) | as above, `--features debug-validate` |
//!
//! The wrapper (`js-wrapper/src/**/*.mjs`, see docs/WRAPPER.md) is staged next to the glue and
//! bundled by esbuild; the web/node wrapper keeps `./maidian_sdk.js` as an external import.
//!
//! Why each mini-program step exists is recorded in `shared/notes/wasm-in-miniprograms.md` and
//! summarised in `docs/BUILD.md`. Every check here fails the build loudly rather than shipping
//! something a mini-program engine may reject.

use crate::std_build::{Goal, Std};
use crate::util::{self, copy, fmt_duration, fresh_dir, read, write};
use crate::wasm;
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The crate and the file stem wasm-bindgen derives from it.
const SDK_PACKAGE: &str = "maidian-sdk";
const SDK_STEM: &str = "maidian_sdk";
/// The cargo profile for wasm builds (root Cargo.toml): opt-level z, fat LTO, panic=abort.
const PROFILE: &str = "sdk";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Cargo features of the modern (web/Node) build: the browser host in Rust.
const WEB_FEATURES: &str = "web-host";
/// Cargo features of the size-optimised builds (web, mini-program): talc instead of dlmalloc,
/// ≈ 1 KB brotli smaller and ≈ 4% slower per `track()`, so the Node build keeps dlmalloc.
const SIZE_FEATURES: &str = "small-allocator";
/// binaryen's npm package version whose wasm-opt has the MVP lowering passes.
const BINARYEN_VERSION: &str = "132";

/// wasm-bindgen internals the mini-program loader calls; the build fails if they vanish.
const GLUE_GET_IMPORTS: &str = "function __wbg_get_imports(";
const GLUE_FINALIZE_INIT: &str = "function __wbg_finalize_init(instance, module)";
/// The stock export line of `--target web` glue, replaced by an export of the internals above
/// (so the bundle exports no `initSync`/default init, which need `WebAssembly` and `fetch`).
const GLUE_STOCK_EXPORT: &str = "export { initSync, __wbg_init as default };";
const GLUE_MP_EXPORT: &str = "export { __wbg_get_imports, __wbg_finalize_init };";
/// wasm-bindgen's workaround for Safari's native `TextDecoder`, which fails after ≈ 2 GB decoded:
/// it recreates the decoder. The mini-program glue decodes with the injected codec
/// (js-wrapper/src/text-codec.mjs), which has no such limit, so the counter is dead weight
/// there (≈ 150 B of the shipped bundle): `decodeText` becomes a plain `decode`.
const GLUE_SAFARI_DECODE: &str = "const MAX_SAFARI_DECODE_BYTES = 2146435072;
let numBytesDecoded = 0;
function decodeText(bytes) {
    numBytesDecoded += bytes.length;
    if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
        cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
        cachedTextDecoder.decode();
        numBytesDecoded = bytes.length;
    }
    return cachedTextDecoder.decode(bytes);
}";
const GLUE_MP_DECODE: &str = "function decodeText(bytes) {
    return cachedTextDecoder.decode(bytes);
}";

/// Exported Globals wasm-bindgen 0.2.130 adds; WXWebAssembly on iOS rejects exported Globals.
const REMOVABLE_GLOBAL_EXPORTS: &[&str] = &["__abort_handler", "__instance_terminated"];

/// Features the MVP build's input may still use (the precompiled std is built with them); the
/// lowering passes below remove them again.
const WASM_OPT_INPUT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
];
const WASM_OPT_MVP_LOWERING: &[&str] = &[
    "--llvm-memory-copy-fill-lowering",
    "--signext-lowering",
    "--llvm-nontrapping-fptoint-lowering",
];
/// The size-optimised wasm's passes (web, mini-program): `-Oz` alone leaves ≈ 0.7 KB of brotli
/// on the table.
/// Flattening and re-running the relooper (`--flatten --rereloop`) before each `-Oz` lets it
/// restructure control flow it otherwise keeps; twice, then a last `-Oz` to clean up. Measured
/// on the mini-program wasm (docs/BUILD.md): 46,602 → 45,917 B brotli, in about the same time;
/// web 62,283 → 61,450. Last, `--reorder-functions` gives the most-called functions the
/// shortest (one-byte LEB) indices: mini-program 110,075 → 109,192 B, 44,763 → 44,499 brotli.
/// `wasm-validate` checks the result, and the realm tests run it.
const WASM_OPT_SIZE_PASSES: &[&str] = &[
    "--flatten",
    "--rereloop",
    "-Oz",
    "--flatten",
    "--rereloop",
    "-Oz",
    "-Oz",
    "--reorder-functions",
];
/// wasm-validate flags that turn off every post-MVP feature wabt enables by default.
const WASM_VALIDATE_MVP: &[&str] = &[
    "--disable-mutable-globals",
    "--disable-saturating-float-to-int",
    "--disable-sign-extension",
    "--disable-simd",
    "--disable-multi-value",
    "--disable-bulk-memory",
    "--disable-reference-types",
];
/// Identifiers the mini-program bundle must not mention: the host has none of them.
const MP_FORBIDDEN_IDENTIFIERS: &[&str] = &["WebAssembly", "fetch", "require"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Web,
    Node,
    Miniprogram,
}

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Build only these targets (repeatable); default: all three.
    #[arg(long = "target", value_enum)]
    targets: Vec<Target>,
}

/// Paths and tools, resolved once up front so a missing tool fails before any compiling.
struct Ctx {
    root: PathBuf,
    js_wrapper: PathBuf,
    target_dir: PathBuf,
    staging: PathBuf,
    wasm_bindgen: PathBuf,
    wasm_opt: PathBuf,
    esbuild: PathBuf,
    terser: PathBuf,
    wasm_validate: Option<PathBuf>,
    /// How every wasm build gets its std (crate::std_build).
    std: Std,
}

/// One line of the size table.
struct Row {
    target: &'static str,
    wasm: u64,
    wasm_br: u64,
    glue: u64,
    shipped: u64,
    out_dir: PathBuf,
}

pub fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let targets: Vec<Target> = if args.targets.is_empty() {
        vec![Target::Web, Target::Node, Target::Miniprogram]
    } else {
        args.targets.clone()
    };
    let ctx = Ctx::new(targets.contains(&Target::Miniprogram))?;

    let mut rows = Vec::new();
    if targets.contains(&Target::Web) {
        let wasm = ctx.cargo_build_modern(Target::Web)?;
        rows.push(ctx.build_web_or_node(&wasm, Target::Web)?);
    }
    if targets.contains(&Target::Node) {
        let wasm = ctx.cargo_build_modern(Target::Node)?;
        rows.push(ctx.build_web_or_node(&wasm, Target::Node)?);
    }
    if targets.contains(&Target::Miniprogram) {
        rows.push(ctx.build_miniprogram()?);
        rows.push(ctx.build_miniprogram_debug()?);
    }

    print_table(&ctx.root, &rows);
    println!("build-sdk finished in {}", fmt_duration(started.elapsed()));
    Ok(())
}

impl Ctx {
    fn new(miniprogram: bool) -> Result<Self> {
        let root = util::workspace_root()?;
        let js_wrapper = root.join("js-wrapper");
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|p| if p.is_absolute() { p } else { root.join(p) })
            .unwrap_or_else(|| root.join("target"));
        let staging = target_dir.join("maidian-sdk-build");
        let bin = js_wrapper.join("node_modules").join(".bin");

        let wasm_bindgen = check_wasm_bindgen(&root)?;
        let wasm_opt = bin.join("wasm-opt");
        let esbuild = bin.join("esbuild");
        let terser = bin.join("terser");
        for (tool, pkg) in [
            (&wasm_opt, "binaryen@132"),
            (&esbuild, "esbuild"),
            (&terser, "terser"),
        ] {
            ensure!(
                tool.is_file(),
                "{} is missing: run `npm ci` in js-wrapper/ (it installs {pkg} from package-lock.json)",
                tool.display()
            );
        }
        let opt_version = util::output(Command::new(&wasm_opt).arg("--version"))?;
        ensure!(
            opt_version.contains(&format!("version {BINARYEN_VERSION}")),
            "{} is `{}`, expected binaryen {BINARYEN_VERSION} (its MVP lowering passes are \
             needed): run `npm ci` in js-wrapper/",
            wasm_opt.display(),
            opt_version.trim()
        );
        let wasm_validate = if miniprogram {
            Some(util::find_on_path("wasm-validate").context(
                "wasm-validate not found: install wabt (`apt-get install -y wabt`; .ci/run does this)",
            )?)
        } else {
            None
        };
        Ok(Ctx {
            root,
            js_wrapper,
            target_dir,
            staging,
            wasm_bindgen,
            wasm_opt,
            esbuild,
            terser,
            wasm_validate,
            std: Std::resolve()?,
        })
    }

    /// `cargo build` of the SDK for modern engines (web, Node), with the browser host
    /// (`web-host`: sdk-wasm/src/web). The mini-program build does not enable it.
    ///
    /// The web build is optimised for size (the profile's opt-level `z`). The Node build is the
    /// same crate and features at opt-level 3 in its own target dir (so neither relinks the
    /// other's artifact): ≈ 0.6× the time per `track()` for ≈ 70 KB more wasm, which a server
    /// loads once (docs/SDK.md).
    fn cargo_build_modern(&self, target: Target) -> Result<PathBuf> {
        let mut cargo = util::cargo();
        cargo.current_dir(&self.root);
        let std = self.std.describe();
        let target_dir = if target == Target::Node {
            step(&format!(
                "node: cargo build (modern wasm, opt-level 3, {std})"
            ));
            let dir = self.target_dir.join("node-o3");
            cargo.env("CARGO_TARGET_DIR", &dir).env(
                format!("CARGO_PROFILE_{}_OPT_LEVEL", PROFILE.to_uppercase()),
                "3",
            );
            dir
        } else {
            step(&format!(
                "web: cargo build (modern wasm with the browser host, {std})"
            ));
            self.target_dir.clone()
        };
        let goal = match target {
            Target::Node => Goal::Speed,
            _ => Goal::Size,
        };
        cargo.args([
            "build",
            "--package",
            SDK_PACKAGE,
            "--target",
            WASM_TARGET,
            "--profile",
            PROFILE,
            "--features",
            WEB_FEATURES,
        ]);
        if goal == Goal::Size {
            cargo.args(["--features", SIZE_FEATURES]);
        }
        self.std.configure(&mut cargo, "", goal);
        util::run(&mut cargo)?;
        Ok(self.artifact(&target_dir))
    }

    fn artifact(&self, target_dir: &Path) -> PathBuf {
        target_dir
            .join(WASM_TARGET)
            .join(PROFILE)
            .join(format!("{SDK_STEM}.wasm"))
    }

    fn wasm_bindgen(&self, input: &Path, out_dir: &Path, extra: &[&str]) -> Result<()> {
        fresh_dir(out_dir)?;
        util::run(
            Command::new(&self.wasm_bindgen)
                .args(extra)
                .arg("--out-dir")
                .arg(out_dir)
                .arg(input),
        )
    }

    /// Copies the wrapper sources (`js-wrapper/src/**/*.mjs`) to `<staging>/src` and the glue to
    /// `<staging>/src/<entry_dir>/maidian_sdk.js`, where the entry imports it; returns the
    /// staged `src`.
    fn stage_wrapper(&self, staging: &Path, entry_dir: &str, glue: &Path) -> Result<PathBuf> {
        let src = staging.join("src");
        fresh_dir(&src)?;
        copy_tree(&self.js_wrapper.join("src"), &src)?;
        copy(glue, &src.join(entry_dir).join(format!("{SDK_STEM}.js")))?;
        Ok(src)
    }

    fn build_web_or_node(&self, input: &Path, target: Target) -> Result<Row> {
        let started = Instant::now();
        let (name, bindgen_target, out_dir) = match target {
            Target::Web => ("web", "web", self.js_wrapper.join("dist").join("web")),
            Target::Node => ("node", "nodejs", self.js_wrapper.join("dist").join("node")),
            Target::Miniprogram => bail!("not a modern target"),
        };
        let opt: &[&str] = if target == Target::Node {
            &["-O3"]
        } else {
            WASM_OPT_SIZE_PASSES
        };
        step(&format!(
            "{name}: wasm-bindgen --target {bindgen_target}, wasm-opt {}",
            opt.join(" ")
        ));
        let staging = self.staging.join(name);
        self.wasm_bindgen(input, &staging, &["--target", bindgen_target])?;

        fresh_dir(&out_dir)?;
        let wasm_out = out_dir.join(format!("{SDK_STEM}_bg.wasm"));
        util::run(
            Command::new(&self.wasm_opt)
                .arg(staging.join(format!("{SDK_STEM}_bg.wasm")))
                .args(opt)
                .args(["--strip-producers", "--strip-target-features", "-o"])
                .arg(&wasm_out),
        )?;
        for file in [
            format!("{SDK_STEM}.js"),
            format!("{SDK_STEM}.d.ts"),
            format!("{SDK_STEM}_bg.wasm.d.ts"),
        ] {
            copy(&staging.join(&file), &out_dir.join(&file))?;
        }
        if target == Target::Web {
            // The package defaults to CommonJS; the web glue is ESM.
            write(
                &out_dir.join("package.json"),
                "{\n  \"type\": \"module\"\n}\n",
            )?;
        }

        // The wrapper entry (`index.js`) imports the glue next to it (`./maidian_sdk.js`).
        let src = self.stage_wrapper(&staging, name, &staging.join(format!("{SDK_STEM}.js")))?;
        let (format, platform) = match target {
            Target::Web => ("--format=esm", "--platform=browser"),
            _ => ("--format=cjs", "--platform=node"),
        };
        util::run(
            Command::new(&self.esbuild)
                .current_dir(&src)
                .arg(format!("{name}/index.mjs"))
                .args([
                    "--bundle",
                    format,
                    platform,
                    "--target=es2019",
                    &format!("--external:./{SDK_STEM}.js"),
                    "--legal-comments=none",
                    "--log-level=warning",
                ])
                .arg(format!("--outfile={}", out_dir.join("index.js").display())),
        )?;

        let wasm_bytes = read(&wasm_out)?;
        let wasm = len(&wasm_bytes);
        let glue = file_len(&out_dir.join(format!("{SDK_STEM}.js")))?
            + file_len(&out_dir.join("index.js"))?;
        println!("    {name} done in {}", fmt_duration(started.elapsed()));
        Ok(Row {
            target: name,
            wasm,
            wasm_br: len(&brotli(&wasm_bytes)?),
            glue,
            shipped: wasm + glue,
            out_dir,
        })
    }

    fn build_miniprogram(&self) -> Result<Row> {
        let started = Instant::now();
        let out_dir = self.js_wrapper.join("miniprogram_dist");
        let MvpWasm { wasm, .. } = self.mvp_wasm(MpVariant::Release)?;

        // 3. Bundle: the wrapper (hooks, adapters, client) + loader + glue, ESM -> CommonJS
        //    ES2017, with the UTF-8 codec injected in module scope.
        step("miniprogram: esbuild wrapper + glue (cjs, es2017, injected UTF-8 codec)");
        let staging = self.staging.join(MpVariant::Release.dir());
        let glue_path = staging.join(format!("{SDK_STEM}.js"));
        let src = self.stage_wrapper(&staging, "miniprogram", &glue_path)?;
        fresh_dir(&out_dir)?;
        let bundle = out_dir.join("index.js");
        util::run(
            Command::new(&self.esbuild)
                .current_dir(&src)
                .args([
                    "miniprogram/index.mjs",
                    "--bundle",
                    "--format=cjs",
                    "--target=es2017",
                    "--platform=neutral",
                    "--inject:text-codec.mjs",
                    "--minify",
                    "--legal-comments=none",
                    "--log-level=warning",
                    // The entry sets `module.exports = md` itself (no ESM exports, so no
                    // CommonJS-interop helpers in the bundle); that is intended.
                    "--log-override:commonjs-variable-in-esm=silent",
                ])
                .arg(format!("--outfile={}", bundle.display())),
        )?;
        // 3b. terser over esbuild's output: its multi-pass compressor and top-level mangling
        //     (safe: mini-programs run every file in its own function scope; nothing unsafe is
        //     enabled) take ≈ 1.7% more off (19,200 → 18,875 B when added).
        step("miniprogram: terser (compress passes=3, mangle top level)");
        util::run(
            Command::new(&self.terser)
                .arg(&bundle)
                .args([
                    "--compress",
                    "passes=3",
                    "--mangle",
                    "--toplevel",
                    "--ecma",
                    "2017",
                    "--output",
                ])
                .arg(&bundle),
        )?;
        let bundle_src = String::from_utf8(read(&bundle)?).context("bundle is not UTF-8")?;
        check_bundle(&bundle_src)?;

        // 5. Ship brotli (quality 11); WXWebAssembly reads `.wasm.br` from base library 2.14.0.
        let br = brotli(&wasm)?;
        write(&out_dir.join(format!("{SDK_STEM}_bg.wasm.br")), &br)?;

        let glue_len = file_len(&bundle)?;
        println!(
            "    miniprogram done in {}",
            fmt_duration(started.elapsed())
        );
        Ok(Row {
            target: "miniprogram",
            wasm: len(&wasm),
            wasm_br: len(&br),
            glue: glue_len,
            shipped: len(&br) + glue_len,
            out_dir,
        })
    }

    /// The debug mini-program wasm (`debug-validate`: `debug: true` validates every event with
    /// the protocol crate and logs the reason codes) in `dist/miniprogram-debug/`. Only the
    /// `.wasm.br` ships: its glue must be byte-identical to the release glue bundled in
    /// `miniprogram_dist/index.js` (checked here), so an app switches with `wasmPath` alone.
    /// Not in `miniprogram_dist`, which "Build npm" copies whole into every app package.
    fn build_miniprogram_debug(&self) -> Result<Row> {
        let started = Instant::now();
        let release_glue = read(
            &self
                .staging
                .join(MpVariant::Release.dir())
                .join(format!("{SDK_STEM}.js")),
        )
        .context("build the release mini-program first")?;
        let MvpWasm { glue, wasm } = self.mvp_wasm(MpVariant::Debug)?;
        ensure!(
            glue == release_glue,
            "the debug-validate glue differs from the release glue: the debug .wasm.br would not \
             load with the shipped index.js (a feature must not change the wasm-bindgen surface)"
        );
        let out_dir = self.js_wrapper.join("dist").join("miniprogram-debug");
        fresh_dir(&out_dir)?;
        let br = brotli(&wasm)?;
        write(&out_dir.join(format!("{SDK_STEM}_bg.wasm.br")), &br)?;
        println!(
            "    miniprogram-debug done in {}",
            fmt_duration(started.elapsed())
        );
        Ok(Row {
            target: "mp-debug",
            wasm: len(&wasm),
            wasm_br: len(&br),
            glue: 0,
            shipped: len(&br),
            out_dir,
        })
    }

    /// Steps 1, 2 and 4 of the mini-program build for one variant: the MVP wasm, its patched
    /// glue (left in the variant's staging dir) and the lowered, validated, optimised wasm.
    fn mvp_wasm(&self, variant: MpVariant) -> Result<MvpWasm> {
        let name = variant.dir();
        let staging = self.staging.join(name);

        // 1. MVP wasm: target-cpu=mvp, own target dir (different RUSTFLAGS would otherwise
        //    rebuild the modern artifact every time), stripped so wasm-bindgen sees no
        //    target_features section (the precompiled std claims reference-types etc.) and
        //    emits non-externref glue. The debug variant has its own target dir too, so the
        //    two builds do not relink each other's artifact.
        step(&format!(
            "{name}: cargo build (target-cpu=mvp, stripped, {})",
            self.std.describe()
        ));
        let mvp_target_dir = self.target_dir.join(match variant {
            MpVariant::Release => "mvp",
            MpVariant::Debug => "mvp-debug",
        });
        let mut cargo = util::cargo();
        cargo
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &mvp_target_dir)
            .env(
                format!("CARGO_PROFILE_{}_STRIP", PROFILE.to_uppercase()),
                "true",
            )
            .args([
                "build",
                "--package",
                SDK_PACKAGE,
                "--target",
                WASM_TARGET,
                "--profile",
                PROFILE,
            ]);
        cargo.args(["--features", SIZE_FEATURES]);
        if variant == MpVariant::Debug {
            cargo.args(["--features", "debug-validate"]);
        }
        self.std
            .configure(&mut cargo, "-C target-cpu=mvp", Goal::Size);
        util::run(&mut cargo)?;
        let input = self.artifact(&mvp_target_dir);
        let module = wasm::parse(&read(&input)?)
            .with_context(|| format!("could not parse {}", input.display()))?;
        ensure!(
            !module.has_custom_section("target_features"),
            "{} still has a target_features section after stripping; wasm-bindgen would emit \
             reference-types glue",
            input.display()
        );

        // 2. Glue: --target web without the default module path (no import.meta), then export
        //    the two internals the path-based loader needs.
        step(&format!(
            "{name}: wasm-bindgen --target web --omit-default-module-path"
        ));
        self.wasm_bindgen(
            &input,
            &staging,
            &["--target", "web", "--omit-default-module-path"],
        )?;
        let glue_path = staging.join(format!("{SDK_STEM}.js"));
        let glue = String::from_utf8(read(&glue_path)?).context("glue is not UTF-8")?;
        let glue = patch_glue(&glue)?;
        write(&glue_path, &glue)?;

        // 4. wasm: drop the exported Globals, lower bulk-memory / sign-ext / non-trapping
        //    float-to-int to MVP, optimise for size; then prove it with wasm-validate.
        step(&format!(
            "{name}: wasm-opt (remove Global exports, MVP lowering, size passes), wasm-validate"
        ));
        let bg = staging.join(format!("{SDK_STEM}_bg.wasm"));
        let exported_globals: Vec<String> = wasm::parse(&read(&bg)?)?
            .exported_globals()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if let Some(unknown) = exported_globals
            .iter()
            .find(|g| !REMOVABLE_GLOBAL_EXPORTS.contains(&g.as_str()))
        {
            bail!(
                "{} exports the Global `{unknown}`, which is not known to be safe to remove (the \
                 glue may use it) and which WXWebAssembly on iOS does not support",
                bg.display()
            );
        }
        let opt = staging.join(format!("{SDK_STEM}_bg.opt.wasm"));
        let mut cmd = Command::new(&self.wasm_opt);
        cmd.arg(&bg).args(WASM_OPT_INPUT_FEATURES);
        if !exported_globals.is_empty() {
            cmd.arg(format!("--remove-exports={}", exported_globals.join(",")));
        }
        cmd.args(WASM_OPT_MVP_LOWERING)
            .args(WASM_OPT_SIZE_PASSES)
            .args(["--strip-producers", "-o"])
            .arg(&opt);
        util::run(&mut cmd)?;

        let validate = self
            .wasm_validate
            .as_ref()
            .context("wasm-validate was not resolved")?;
        util::run(Command::new(validate).args(WASM_VALIDATE_MVP).arg(&opt))
            .context("the mini-program wasm uses a post-MVP feature")?;
        let opt_bytes = read(&opt)?;
        let remaining = wasm::parse(&opt_bytes)?;
        ensure!(
            remaining.exported_globals().is_empty(),
            "the mini-program wasm still exports Globals {:?}",
            remaining.exported_globals()
        );
        Ok(MvpWasm {
            glue: glue.into_bytes(),
            wasm: opt_bytes,
        })
    }
}

/// The two mini-program wasm builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MpVariant {
    /// Shipped in `miniprogram_dist/`.
    Release,
    /// `--features debug-validate`, in `dist/miniprogram-debug/`.
    Debug,
}

impl MpVariant {
    /// Staging directory name and step label.
    fn dir(self) -> &'static str {
        match self {
            MpVariant::Release => "miniprogram",
            MpVariant::Debug => "miniprogram-debug",
        }
    }
}

/// What [`Ctx::mvp_wasm`] produced.
struct MvpWasm {
    /// The patched glue text (also written to the variant's staging dir).
    glue: Vec<u8>,
    /// The lowered, validated, `-Oz` wasm.
    wasm: Vec<u8>,
}

/// Copies every `.mjs` file under `from` to the same relative path under `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(from).with_context(|| format!("could not list {}", from.display()))?;
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        if path.is_dir() {
            std::fs::create_dir_all(to.join(name))?;
            copy_tree(&path, &to.join(name))?;
        } else if path.extension().is_some_and(|e| e == "mjs") {
            copy(&path, &to.join(name))?;
        }
    }
    Ok(())
}

/// Fails unless `wasm-bindgen --version` is exactly the `wasm-bindgen` in Cargo.lock.
fn check_wasm_bindgen(root: &Path) -> Result<PathBuf> {
    let lock_path = root.join("Cargo.lock");
    if !lock_path.is_file() {
        // Resolve the workspace once so there is a lockfile to read.
        util::output(
            util::cargo()
                .current_dir(root)
                .args(["metadata", "--format-version", "1"]),
        )?;
    }
    let lock = String::from_utf8(read(&lock_path)?).context("Cargo.lock is not UTF-8")?;
    let locked = util::locked_versions(&lock, "wasm-bindgen");
    let [locked] = locked.as_slice() else {
        bail!("expected exactly one wasm-bindgen in Cargo.lock, found {locked:?}");
    };
    let install = format!("cargo install wasm-bindgen-cli --version ={locked} --force");
    let Some(bin) = util::find_on_path("wasm-bindgen") else {
        bail!("wasm-bindgen is not on PATH; install the Cargo.lock version with `{install}`");
    };
    let reported = util::output(Command::new(&bin).arg("--version"))?;
    // "wasm-bindgen 0.2.130"
    let installed = reported.split_whitespace().nth(1).unwrap_or_default();
    ensure!(
        installed == locked,
        "{} is version `{installed}` but Cargo.lock has wasm-bindgen {locked}; the CLI and the \
         library must match exactly (the mini-program loader relies on glue internals). Install \
         it with `{install}`",
        bin.display()
    );
    Ok(bin)
}

/// Replaces the stock export of the `--target web` glue with one of the loader's internals, and
/// the Safari decoder workaround with a plain decode (both must occur exactly once).
fn patch_glue(glue: &str) -> Result<String> {
    for needle in [
        GLUE_GET_IMPORTS,
        GLUE_FINALIZE_INIT,
        GLUE_STOCK_EXPORT,
        GLUE_SAFARI_DECODE,
    ] {
        let count = glue.matches(needle).count();
        ensure!(
            count == 1,
            "the wasm-bindgen glue contains `{needle}` {count} times, expected once. The \
             mini-program loader (js-wrapper/src/miniprogram/loader.mjs) depends on the glue \
             internals `__wbg_get_imports` and `__wbg_finalize_init`, and the build patches \
             the export line and the Safari decoder workaround; after changing the \
             wasm-bindgen version, adapt the loader and xtask/src/build_sdk.rs to the new glue"
        );
    }
    Ok(glue
        .replace(GLUE_STOCK_EXPORT, GLUE_MP_EXPORT)
        .replace(GLUE_SAFARI_DECODE, GLUE_MP_DECODE))
}

/// Checks the mini-program bundle for syntax and globals a mini-program does not have.
fn check_bundle(src: &str) -> Result<()> {
    ensure!(
        !src.contains("import.meta"),
        "the mini-program bundle uses import.meta"
    );
    for ident in MP_FORBIDDEN_IDENTIFIERS {
        ensure!(
            !mentions_identifier(src, ident),
            "the mini-program bundle mentions `{ident}`, which mini-programs do not have"
        );
    }
    Ok(())
}

/// Whether `ident` occurs in `src` as a whole identifier that is not a property access
/// (`WXWebAssembly` does not count as `WebAssembly`, nor does `x.fetch(...)` as `fetch`).
fn mentions_identifier(src: &str, ident: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    src.match_indices(ident).any(|(i, _)| {
        let before = src[..i].chars().next_back();
        let after = src[i + ident.len()..].chars().next();
        let property = src[..i].trim_end().ends_with('.');
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident) && !property
    })
}

fn brotli(data: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params)
        .context("brotli compression failed")?;
    Ok(out)
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("could not stat {}", path.display()))?
        .len())
}

fn step(title: &str) {
    println!("==> {title}");
}

fn print_table(root: &Path, rows: &[Row]) {
    println!();
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10}  output",
        "target", "wasm", "wasm.br", "glue JS", "shipped"
    );
    for r in rows {
        let out = r.out_dir.strip_prefix(root).unwrap_or(&r.out_dir);
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>10}  {}",
            r.target,
            thousands(r.wasm),
            thousands(r.wasm_br),
            thousands(r.glue),
            thousands(r.shipped),
            out.display()
        );
    }
    println!(
        "(bytes; shipped = files in the output: web/node wasm + glue, miniprogram wasm.br + glue, \
         mp-debug wasm.br only; web/node wasm.br is what a brotli-serving CDN would send)"
    );
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_matching_respects_boundaries() {
        assert!(mentions_identifier(
            "x = WebAssembly.instantiate",
            "WebAssembly"
        ));
        assert!(!mentions_identifier(
            "WXWebAssembly.instantiate",
            "WebAssembly"
        ));
        assert!(!mentions_identifier("prefetch(a)", "fetch"));
        assert!(mentions_identifier("fetch(a)", "fetch"));
        assert!(!mentions_identifier("fetched", "fetch"));
        assert!(!mentions_identifier("getObject(a).fetch(b)", "fetch"));
        assert!(mentions_identifier("typeof fetch", "fetch"));
    }

    #[test]
    fn glue_patch_requires_the_internals() {
        let glue = format!(
            "{GLUE_GET_IMPORTS}) {{}}\n{GLUE_FINALIZE_INIT} {{}}\n{GLUE_SAFARI_DECODE}\n\
             {GLUE_STOCK_EXPORT}\n"
        );
        let patched = patch_glue(&glue).expect("stock glue shape");
        assert!(patched.contains(GLUE_MP_EXPORT));
        assert!(patched.contains(GLUE_MP_DECODE));
        assert!(!patched.contains("initSync"));
        assert!(!patched.contains("SAFARI"));
        let without_workaround = glue.replace(GLUE_SAFARI_DECODE, "");
        assert!(patch_glue(&without_workaround).is_err());
        assert!(patch_glue("export { initSync, __wbg_init as default };").is_err());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12_873), "12,873");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn brotli_round_trips() {
        let data = b"maidian maidian maidian maidian".repeat(10);
        let packed = brotli(&data).expect("compresses");
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut &packed[..], &mut unpacked).expect("decompresses");
        assert_eq!(unpacked, data);
    }
}
