//! What an upload is, judged from its bytes (never its name or declared type), and
//! renditions at fixed widths. Everything here is CPU work: callers run it on the
//! blocking pool, one image at a time per server (see `IMAGE_WORK`).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use crate::error::AppError;

/// The widths renditions are made at: a fixed set, so that the cache stays bounded
/// (at most this many files per image).
pub const RENDITION_WIDTHS: [u32; 5] = [320, 640, 960, 1280, 1920];

/// The largest side an image may have, in pixels.
pub const MAX_SIDE: u32 = 12_000;
/// The most pixels an image may have (a 40 MP photo; decoding it takes ~160 MB).
pub const MAX_PIXELS: u64 = 40_000_000;

/// An accepted kind of image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl Kind {
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
            Kind::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Gif => "gif",
        }
    }

    pub fn from_content_type(value: &str) -> Option<Kind> {
        [Kind::Jpeg, Kind::Png, Kind::Webp, Kind::Gif]
            .into_iter()
            .find(|kind| kind.content_type() == value)
    }

    pub fn from_extension(value: &str) -> Option<Kind> {
        [Kind::Jpeg, Kind::Png, Kind::Webp, Kind::Gif]
            .into_iter()
            .find(|kind| kind.extension() == value)
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Webp => ImageFormat::WebP,
            Kind::Gif => ImageFormat::Gif,
        }
    }

    /// The kind renditions of this kind are made in: the same, except that GIFs
    /// (whose encoder is slow and palette-bound) become PNG.
    pub fn rendition_kind(self) -> Kind {
        match self {
            Kind::Gif => Kind::Png,
            other => other,
        }
    }
}

/// What an upload is: its kind (from its first bytes) and size in pixels (from its
/// header), checked before anything is decoded.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub kind: Kind,
    pub width: u32,
    pub height: u32,
}

fn unsupported() -> AppError {
    AppError::UnsupportedMediaType(
        "Upload a JPEG, PNG, WebP or GIF image; the type is read from the file's bytes \
         (SVG and other formats are not accepted)."
            .into(),
    )
}

fn unreadable() -> AppError {
    AppError::validation(
        "file",
        "is not a readable image (truncated or damaged past its header)",
    )
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Decoding buffers: the pixels (RGBA) and some room.
    limits.max_alloc = Some(MAX_PIXELS * 4 + (64 << 20));
    limits
}

/// Reads the kind and dimensions of `bytes`, and decodes it whole under limits to
/// make sure it is the image it claims to be: a file that is not one of the
/// accepted kinds is a 415; dimensions past [`MAX_SIDE`] or [`MAX_PIXELS`] (a
/// decompression bomb declares them in its header) are refused before decoding.
pub fn inspect(bytes: &[u8]) -> Result<Probe, AppError> {
    let kind = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Kind::Jpeg,
        Ok(ImageFormat::Png) => Kind::Png,
        Ok(ImageFormat::WebP) => Kind::Webp,
        Ok(ImageFormat::Gif) => Kind::Gif,
        _ => return Err(unsupported()),
    };
    let reader = || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
        reader.limits(limits());
        reader
    };
    let (width, height) = reader().into_dimensions().map_err(|_| unreadable())?;
    if width == 0 || height == 0 {
        return Err(unreadable());
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(AppError::validation(
            "file",
            format!(
                "is {width}×{height} pixels; images may be at most {MAX_SIDE} pixels on a \
                 side and {MAX_PIXELS} pixels in all"
            ),
        ));
    }
    reader().decode().map_err(|_| unreadable())?;
    Ok(Probe {
        kind,
        width,
        height,
    })
}

/// The widths an image of `width` pixels has renditions at: those of
/// [`RENDITION_WIDTHS`] narrower than it (never an enlargement).
pub fn widths_for(width: u32) -> Vec<u32> {
    RENDITION_WIDTHS
        .into_iter()
        .filter(|w| *w < width)
        .collect()
}

/// `original` (an accepted image, as stored) scaled to `width` pixels wide, its
/// proportions kept, encoded as `kind`.
pub fn render(original: &[u8], width: u32, kind: Kind) -> Result<Vec<u8>, AppError> {
    let failed = |_| AppError::Internal("a stored image could not be rendered".into());
    let mut reader = ImageReader::new(Cursor::new(original))
        .with_guessed_format()
        .map_err(failed)?;
    reader.limits(limits());
    let image = reader
        .decode()
        .map_err(|_| AppError::Internal("a stored image could not be decoded".into()))?;
    let height = (u64::from(image.height()) * u64::from(width) / u64::from(image.width().max(1)))
        .max(1) as u32;
    let scaled = image.resize_exact(width, height, image::imageops::FilterType::Triangle);
    let scaled = match kind {
        // JPEG has no alpha channel.
        Kind::Jpeg => DynamicImage::ImageRgb8(scaled.to_rgb8()),
        _ => scaled,
    };
    let mut out = Cursor::new(Vec::new());
    scaled
        .write_to(&mut out, kind.format())
        .map_err(|_| AppError::Internal("a rendition could not be encoded".into()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        DynamicImage::new_rgb8(width, height)
            .write_to(&mut out, ImageFormat::Png)
            .expect("encodes");
        out.into_inner()
    }

    #[test]
    fn reads_kind_and_size_from_the_bytes() {
        let probe = inspect(&png(30, 20)).expect("an image");
        assert_eq!((probe.kind, probe.width, probe.height), (Kind::Png, 30, 20));
        assert!(inspect(b"<svg onload=alert(1)></svg>").is_err());
        assert!(
            inspect(b"GIF89a").is_err(),
            "a header alone is not an image"
        );
    }

    #[test]
    fn renders_narrower_never_wider() {
        assert_eq!(widths_for(1000), [320, 640, 960]);
        assert!(widths_for(300).is_empty());
        let small = render(&png(700, 350), 320, Kind::Jpeg).expect("renders");
        let probe = inspect(&small).expect("an image");
        assert_eq!(
            (probe.kind, probe.width, probe.height),
            (Kind::Jpeg, 320, 160)
        );
    }
}
