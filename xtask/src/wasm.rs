//! A minimal reader of the WebAssembly binary format: just enough to list a module's exports and
//! custom sections, so the build can check the mini-program artifact itself (no exported Global,
//! no `target_features` section) instead of trusting tool behaviour.

use anyhow::{Context, Result, bail, ensure};

/// What an export refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Func,
    Table,
    Memory,
    Global,
    Tag,
    Unknown(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: ExportKind,
}

/// The parts of a module the build looks at.
#[derive(Debug, Default)]
pub struct Module {
    pub exports: Vec<Export>,
    pub custom_sections: Vec<String>,
}

impl Module {
    /// Names of the exported Globals (unsupported by WXWebAssembly on iOS).
    pub fn exported_globals(&self) -> Vec<&str> {
        self.exports
            .iter()
            .filter(|e| e.kind == ExportKind::Global)
            .map(|e| e.name.as_str())
            .collect()
    }

    pub fn has_custom_section(&self, name: &str) -> bool {
        self.custom_sections.iter().any(|s| s == name)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .with_context(|| format!("unexpected end of wasm at byte {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32> {
        let mut result: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            result |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(result);
            }
        }
        bail!("LEB128 u32 too long at byte {}", self.pos)
    }

    fn slice(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(len).context("wasm length overflow")?;
        let s = self.bytes.get(self.pos..end).with_context(|| {
            format!("wasm item of {len} bytes at {} runs past the end", self.pos)
        })?;
        self.pos = end;
        Ok(s)
    }

    fn name(&mut self) -> Result<String> {
        let len = usize::try_from(self.u32()?)?;
        let raw = self.slice(len)?;
        String::from_utf8(raw.to_vec()).context("wasm name is not UTF-8")
    }
}

/// Parses the section structure of a wasm binary, reading the export and custom sections.
pub fn parse(bytes: &[u8]) -> Result<Module> {
    ensure!(
        bytes.get(..8) == Some(b"\0asm\x01\0\0\0".as_slice()),
        "not a wasm module (bad magic or version)"
    );
    let mut r = Reader { bytes, pos: 8 };
    let mut module = Module::default();
    while r.pos < bytes.len() {
        let id = r.byte()?;
        let size = usize::try_from(r.u32()?)?;
        let mut section = Reader {
            bytes: r.slice(size)?,
            pos: 0,
        };
        match id {
            0 => module.custom_sections.push(section.name()?),
            7 => {
                let count = section.u32()?;
                for _ in 0..count {
                    let name = section.name()?;
                    let kind = match section.byte()? {
                        0 => ExportKind::Func,
                        1 => ExportKind::Table,
                        2 => ExportKind::Memory,
                        3 => ExportKind::Global,
                        4 => ExportKind::Tag,
                        other => ExportKind::Unknown(other),
                    };
                    section.u32()?; // index
                    module.exports.push(Export { name, kind });
                }
            }
            _ => {}
        }
    }
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![id, u8::try_from(payload.len()).expect("small test section")];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn reads_exports_and_custom_sections() {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // custom section "target_features" with one byte of payload
        let mut custom = vec![15];
        custom.extend_from_slice(b"target_features");
        custom.push(0);
        wasm.extend(section(0, &custom));
        // exports: "memory" (memory 0), "__abort_handler" (global 1), "f" (func 200 = 2-byte LEB)
        let mut exports = vec![3, 6];
        exports.extend_from_slice(b"memory");
        exports.extend_from_slice(&[2, 0, 15]);
        exports.extend_from_slice(b"__abort_handler");
        exports.extend_from_slice(&[3, 1, 1, b'f', 0, 0xc8, 0x01]);
        wasm.extend(section(7, &exports));

        let m = parse(&wasm).expect("valid test module");
        assert!(m.has_custom_section("target_features"));
        assert_eq!(m.exported_globals(), ["__abort_handler"]);
        assert_eq!(m.exports.len(), 3);
        assert_eq!(m.exports[2].kind, ExportKind::Func);
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(parse(b"not wasm").is_err());
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[7, 10, 1]); // section claims 10 bytes, has 1
        assert!(parse(&wasm).is_err());
    }
}
