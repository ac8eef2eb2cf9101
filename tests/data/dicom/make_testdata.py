#!/usr/bin/python3
"""Makes the generated DICOM / NIfTI test files under tests/data/dicom and tests/data/nifti, and prints
the reference facts that tests/test_dicom.c and tests/test_nifti.c hold as literals.

Run once from the repository root with Debian's packages (python3-pydicom 2.3, python3-nibabel,
python3-numpy, python3-pil):   /usr/bin/python3 tests/data/dicom/make_testdata.py
Inputs: the copied sample files in tests/data/dicom and tests/data/nifti (see README.md there).
The C tests never run this script; they only read the files it wrote and the numbers it printed."""
import gzip, io, os, random, shutil
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid
from pydicom.encaps import encapsulate
from PIL import Image
import nibabel as nib

D = 'tests/data/dicom'
N = 'tests/data/nifti'
rng = np.random.default_rng(20240611)


def base_ds(sop_class, ts, modality='OT'):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b'\0' * 128
    ds.is_little_endian = True
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    return ds


def save(ds, name):
    ds.save_as(os.path.join(D, name), write_like_original=False)


def window_ref(x, c, w):
    """DICOM PS3.3 C.11.2.1.2.1 linear VOI function to 0..255, rounded half up."""
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0
    y = np.where(x <= c - 0.5 - (w - 1) / 2, 0.0, np.where(x > c - 0.5 + (w - 1) / 2, 255.0, y))
    return np.floor(np.clip(y, 0, 255) + 0.5).astype(int)


def mono1_12bit():
    # MONOCHROME1, 16 bits allocated, 12 stored, high bit 11, signed, junk in the 4 unused high bits.
    vals = rng.integers(-2048, 2048, size=(6, 5)).astype(np.int64)
    vals[0, 0], vals[0, 1], vals[0, 2] = -2048, 2047, -1
    junk = rng.integers(0, 16, size=vals.shape)
    raw = ((vals & 0xFFF) | (junk << 12)).astype('<u2')
    ds = base_ds('1.2.840.10008.5.1.4.1.1.1.1', ExplicitVRLittleEndian, 'DX')
    ds.Rows, ds.Columns = 6, 5
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME1'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    ds.RescaleSlope, ds.RescaleIntercept = '0.5', '100'
    ds.WindowCenter = ['40', '500']   # multi-valued: the first value counts
    ds.WindowWidth = ['1000', '2000']
    ds.PixelData = raw.tobytes()
    save(ds, 'mono1_12bit.dcm')
    # reference, computed here from the standard (mask 12 bits, sign-extend, rescale, window, invert)
    st = raw.astype(np.int64) & 0xFFF
    st = np.where(st >= 2048, st - 4096, st)
    mod = st * 0.5 + 100
    img = 255 - window_ref(mod, 40.0, 1000.0)
    print('mono1_12bit: stored', st.reshape(-1).tolist())
    print('mono1_12bit: modality', mod.reshape(-1).tolist())
    print('mono1_12bit: 8-bit', img.reshape(-1).tolist())
    # pydicom cross-check of the modality values, where it agrees on the masking
    back = pydicom.dcmread(os.path.join(D, 'mono1_12bit.dcm'))
    print('mono1_12bit: pydicom pixel_array == stored:', np.array_equal(back.pixel_array.astype(np.int64), st))


def rgb_planar():
    # RGB, planar configuration 1, 7x4, and YBR_FULL native 4x3
    rgb = rng.integers(0, 256, size=(4, 7, 3)).astype(np.uint8)
    ds = base_ds('1.2.840.10008.5.1.4.1.1.7', ExplicitVRLittleEndian)
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 4, 7, 3
    ds.PhotometricInterpretation = 'RGB'
    ds.PlanarConfiguration = 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes()
    save(ds, 'rgb_planar1.dcm')
    back = pydicom.dcmread(os.path.join(D, 'rgb_planar1.dcm')).pixel_array
    print('rgb_planar1 (pydicom pixel_array, y x c):', back.reshape(-1).tolist())

    from pydicom.pixel_data_handlers.util import convert_color_space
    src = rng.integers(0, 256, size=(3, 4, 3)).astype(np.uint8)
    ybr = convert_color_space(src, 'RGB', 'YBR_FULL')
    ds = base_ds('1.2.840.10008.5.1.4.1.1.7', ExplicitVRLittleEndian)
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 3, 4, 3
    ds.PhotometricInterpretation = 'YBR_FULL'
    ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = ybr.tobytes()
    save(ds, 'ybr_full.dcm')
    back = pydicom.dcmread(os.path.join(D, 'ybr_full.dcm'))
    ref = convert_color_space(back.pixel_array, 'YBR_FULL', 'RGB')
    print('ybr_full (pydicom convert_color_space to RGB):', ref.reshape(-1).tolist())


def series_dirs():
    # CT5N without InstanceNumber in two files (so position ordering is used), file names shuffled,
    # plus a text file and a hidden broken file that must be skipped.
    src = sorted(os.listdir(os.path.join(D, 'CT5N')))
    out = os.path.join(D, 'series_noinst')
    os.makedirs(out, exist_ok=True)
    names = ['c.dcm', 'a.dcm', 'e.dcm', 'b.dcm', 'd.dcm']
    facts = []
    for i, f in enumerate(src):
        ds = pydicom.dcmread(os.path.join(D, 'CT5N', f))
        if i in (1, 3):
            del ds.InstanceNumber
        ds.save_as(os.path.join(out, names[i]), write_like_original=True)
        facts.append((float(ds.ImagePositionPatient[2]), names[i], f))
    with open(os.path.join(out, 'README.txt'), 'w') as fh:
        fh.write('not DICOM: must be skipped by the volume loader\n')
    with open(os.path.join(out, '.hidden.dcm'), 'wb') as fh:
        fh.write(b'\0' * 128 + b'DICM' + b'\xff' * 40)
    facts.sort()
    print('series_noinst order by z ascending:', facts)

    # oblique/coronal series: row (1,0,0), column (0,0,-1) -> normal (0,1,0); z decreases as y increases,
    # so ordering by the normal differs from ordering by plain z. No InstanceNumber.
    out = os.path.join(D, 'series_coronal')
    os.makedirs(out, exist_ok=True)
    base = pydicom.dcmread(os.path.join(D, 'CT5N', src[0]))
    order = []
    for k, (y, name) in enumerate([(10.0, 'x1.dcm'), (-5.0, 'x2.dcm'), (2.5, 'x3.dcm')]):
        ds = pydicom.dcmread(os.path.join(D, 'CT5N', src[k]))
        del ds.InstanceNumber
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
        ds.ImagePositionPatient = [-72.2, y, 40.0 - y]
        ds.save_as(os.path.join(out, name), write_like_original=True)
        a = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        order.append((y, name, a[0, 0], a[15, 15]))
    order.sort()
    print('series_coronal order by y ascending (name, hu[0,0], hu[15,15]):', order)


def enhanced_ct():
    # Enhanced CT multi-frame: 5 frames (CT5N pixels), functional groups with per-frame position and
    # per-frame rescale intercept; implicit VR copy too (sequences found through the dictionary).
    src = sorted(os.listdir(os.path.join(D, 'CT5N')))
    sl = [pydicom.dcmread(os.path.join(D, 'CT5N', f)) for f in src]
    ds = base_ds('1.2.840.10008.5.1.4.1.1.2.1', ExplicitVRLittleEndian, 'CT')
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 16, 16, 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.NumberOfFrames = 5
    sh = Dataset()
    pm = Dataset(); pm.PixelSpacing = [0.5, 0.75]; pm.SliceThickness = 2.5
    po = Dataset(); po.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    voi = Dataset(); voi.WindowCenter = 40; voi.WindowWidth = 400
    sh.PixelMeasuresSequence = Sequence([pm])
    sh.PlaneOrientationSequence = Sequence([po])
    sh.FrameVOILUTSequence = Sequence([voi])
    ds.SharedFunctionalGroupsSequence = Sequence([sh])
    pf = []
    inters = [-1024, -1000, -1024, -900, -1024]
    for k, s in enumerate(sl):
        it = Dataset()
        pp = Dataset(); pp.ImagePositionPatient = [-72.2, -143.0, 10.0 - 2.5 * k]
        pvt = Dataset(); pvt.RescaleSlope = 1; pvt.RescaleIntercept = inters[k]; pvt.RescaleType = 'HU'
        it.PlanePositionSequence = Sequence([pp])
        it.PixelValueTransformationSequence = Sequence([pvt])
        pf.append(it)
    ds.PerFrameFunctionalGroupsSequence = Sequence(pf)
    # an icon image inside a sequence: its Rows/Columns/PixelData must not be taken for the image's
    icon = Dataset()
    icon.Rows, icon.Columns, icon.SamplesPerPixel = 2, 2, 1
    icon.PhotometricInterpretation = 'MONOCHROME2'
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = b'\1\2\3\4'
    ds.IconImageSequence = Sequence([icon])
    frames = np.stack([s.pixel_array for s in sl])
    ds.PixelData = frames.astype('<i2').tobytes()
    save(ds, 'ct_enhanced.dcm')
    ds2 = pydicom.dcmread(os.path.join(D, 'ct_enhanced.dcm'))
    ds2.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds2.is_implicit_VR = True
    ds2.save_as(os.path.join(D, 'ct_enhanced_implicit.dcm'), write_like_original=False)
    back = pydicom.dcmread(os.path.join(D, 'ct_enhanced_implicit.dcm'))
    arr = back.pixel_array.astype(np.float64)
    for k in range(5):
        t = back.PerFrameFunctionalGroupsSequence[k].PixelValueTransformationSequence[0]
        hu = arr[k] * float(t.RescaleSlope) + float(t.RescaleIntercept)
        print('ct_enhanced frame', k, 'hu[0,0]', hu[0, 0], 'hu[7,9]', hu[7, 9], 'sum', hu.sum())


def wsi_sparse():
    # VL WSI, TILED_SPARSE, native RGB 8x8 tiles over a 20x12 matrix, positions from the per-frame groups,
    # in a non-row-major order; one tile hangs over the right edge.
    tiles = rng.integers(0, 256, size=(4, 8, 8, 3)).astype(np.uint8)
    pos = [(9, 1), (1, 1), (1, 9), (17, 5)]  # (column, row), 1-based
    ds = base_ds('1.2.840.10008.5.1.4.1.1.77.1.6', ExplicitVRLittleEndian, 'SM')
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 8, 8, 3
    ds.PhotometricInterpretation = 'RGB'
    ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = 4
    ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = 20, 12
    ds.DimensionOrganizationType = 'TILED_SPARSE'
    pf = []
    for c, r in pos:
        it = Dataset()
        pp = Dataset(); pp.ColumnPositionInTotalImagePixelMatrix = c; pp.RowPositionInTotalImagePixelMatrix = r
        pp.XOffsetInSlideCoordinateSystem = 1.0; pp.YOffsetInSlideCoordinateSystem = 2.0
        it.PlanePositionSlideSequence = Sequence([pp])
        pf.append(it)
    ds.PerFrameFunctionalGroupsSequence = Sequence(pf)
    ds.PixelData = tiles.tobytes()
    save(ds, 'wsi_sparse.dcm')
    full = np.full((12, 20, 3), 255, dtype=np.uint8)
    for t, (c, r) in enumerate(pos):
        x0, y0 = c - 1, r - 1
        w = min(8, 20 - x0); h = min(8, 12 - y0)
        full[y0:y0 + h, x0:x0 + w] = tiles[t, :h, :w]
    print('wsi_sparse assembled (y x c):', full.reshape(-1).tolist())


def jpeg_bytes(a, quality=90):
    b = io.BytesIO()
    Image.fromarray(a).save(b, format='JPEG', quality=quality)
    return b.getvalue()


def jpeg_multi():
    # 3-frame grey JPEG baseline, two fragments per frame, with and without a basic offset table.
    yy, xx = np.mgrid[0:16, 0:24]
    frames = [np.uint8(xx * 10), np.full((16, 24), 50, np.uint8), np.uint8(((xx // 4 + yy // 4) % 2) * 200 + 20)]
    jp = [jpeg_bytes(f) for f in frames]
    for bot, name in ((True, 'jpeg_3frames_bot.dcm'), (False, 'jpeg_3frames_nobot.dcm')):
        ds = base_ds('1.2.840.10008.5.1.4.1.1.7.2', JPEGBaseline8Bit)
        ds.Rows, ds.Columns, ds.SamplesPerPixel = 16, 24, 1
        ds.PhotometricInterpretation = 'MONOCHROME2'
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.NumberOfFrames = 3
        ds.PixelData = encapsulate(jp, fragments_per_frame=2, has_bot=bot)
        ds['PixelData'].is_undefined_length = True
        ds['PixelData'].VR = 'OB'
        save(ds, name)
    for k, j in enumerate(jp):
        a = np.asarray(Image.open(io.BytesIO(j)))
        print('jpeg_3frames frame', k, '(PIL decode) px[0,0]', a[0, 0], 'px[8,13]', a[8, 13], 'sum', int(a.astype(np.int64).sum()))
    # the synthetic CXR re-wrapped with its one JPEG split into 3 fragments
    cx = pydicom.dcmread(os.path.join(D, 'encapsulated_cxr_synthetic.dcm'))
    from pydicom.encaps import generate_pixel_data_frame
    j = next(generate_pixel_data_frame(cx.PixelData, 1))
    cut = [0, len(j) // 3 & ~1, 2 * len(j) // 3 & ~1, len(j)]
    frags = [j[cut[i]:cut[i + 1]] for i in range(3)]
    from pydicom.encaps import itemize_fragment
    pix = b'\xfe\xff\x00\xe0\x00\x00\x00\x00' + b''.join(itemize_fragment(f) for f in frags)
    cx.PixelData = pix
    cx['PixelData'].is_undefined_length = True
    cx.save_as(os.path.join(D, 'cxr_3fragments.dcm'), write_like_original=False)
    a = np.asarray(Image.open(io.BytesIO(j)))
    print('cxr (PIL decode) shape', a.shape, 'px[0,0]', a[0, 0], 'px[512,512]', a[512, 512], 'sum', int(a.astype(np.int64).sum()),
          'min', a.min(), 'max', a.max())


def encap_uncompressed():
    # Encapsulated Uncompressed Explicit VR Little Endian (1.2.840.10008.1.2.1.98), 2 frames of 3x2 uint16.
    fr = [np.array([[1, 2, 3], [4, 5, 6]], '<u2'), np.array([[100, 200, 300], [400, 500, 65535]], '<u2')]
    ds = base_ds('1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.1.2.1.98')
    ds.is_implicit_VR = False
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 2, 3, 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = 2
    ds.PixelData = encapsulate([f.tobytes() for f in fr], 1, True)
    ds['PixelData'].is_undefined_length = True
    ds['PixelData'].VR = 'OB'
    save(ds, 'encap_uncompressed.dcm')


def nifti():
    a = nib.load(os.path.join(N, 'anatomical.nii'))
    d = a.get_fdata()
    print('anatomical: shape', d.shape, 'sum', d.sum(), 'min', d.min(), 'max', d.max(),
          'v[10,20,12]', d[10, 20, 12], 'v[0,0,0]', d[0, 0, 0], 'v[32,40,24]', d[32, 40, 24], 'v[16,20,12]', d[16, 20, 12])
    print('anatomical: affine', a.affine.tolist(), 'zooms', a.header.get_zooms())
    with open(os.path.join(N, 'anatomical.nii'), 'rb') as f, gzip.open(os.path.join(N, 'anatomical.nii.gz'), 'wb', 9) as g:
        shutil.copyfileobj(f, g)
    # little-endian synthetic files, one per datatype; 4-D uint8 with scaling
    shape = (4, 3, 2)
    specs = [('u8_4d', np.uint8, (4, 3, 2, 3), 2.0, -1.0), ('i8', np.int8, shape, 0, 0), ('i16', np.int16, shape, 0, 0),
             ('u16', np.uint16, shape, 0.5, 10), ('i32', np.int32, shape, 0, 0), ('u32', np.uint32, shape, 0, 0),
             ('f32', np.float32, shape, 0, 0), ('f64', np.float64, shape, 0, 0)]
    for name, dt, shp, slope, inter in specs:
        info = np.iinfo(dt) if np.issubdtype(dt, np.integer) else None
        if info:
            lo, hi = max(info.min, -100000), min(info.max, 100000)
            data = rng.integers(lo, hi, size=shp, endpoint=True).astype(dt)
            data.reshape(-1)[0] = info.min if info.max < 1e6 else data.reshape(-1)[0]
        else:
            data = (rng.standard_normal(shp) * 1000).astype(dt)
        img = nib.Nifti1Image(data, np.diag([1.5, 2.0, 3.0, 1.0]))
        if name == 'f64':
            # qform only: rotation about z by 90 degrees plus offsets; sform code 0
            aff = np.array([[0, -2.0, 0, 10], [1.5, 0, 0, -20], [0, 0, 3.0, 5], [0, 0, 0, 1]])
            img = nib.Nifti1Image(data, None)
            img.set_qform(aff, code=1)
            img.set_sform(None, code=0)
        if slope:
            img.header.set_slope_inter(slope, inter)
        img.header.set_xyzt_units('mm', 'sec')
        fn = os.path.join(N, 'dt_%s.nii' % name)
        nib.save(img, fn)
        back = nib.load(fn)
        v = back.get_fdata()
        v0 = v[..., 0] if v.ndim == 4 else v
        print('dt_%s: dtype %s shape %s vox_offset %s first-volume sum %r v[1,2,1] %r v[0,0,0] %r v[3,0,1] %r' % (
            name, back.header.get_data_dtype(), v.shape, back.header['vox_offset'], float(v0.sum()),
            float(v0[1, 2, 1]), float(v0[0, 0, 0]), float(v0[3, 0, 1])))
        if name == 'f64':
            print('dt_f64 affine (qform)', back.affine.tolist())


if __name__ == '__main__':
    mono1_12bit()
    rgb_planar()
    series_dirs()
    enhanced_ct()
    wsi_sparse()
    jpeg_multi()
    encap_uncompressed()
    nifti()
