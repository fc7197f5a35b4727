package checksum

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"strings"
)

// Algorithm is a full-object checksum algorithm supported by S3.
type Algorithm string

// The algorithms S3 accepts with the FULL_OBJECT checksum type.
const (
	CRC32C    Algorithm = "CRC32C"
	CRC64NVME Algorithm = "CRC64NVME"
)

// Reversed polynomials as used by hash/crc32 and hash/crc64 tables.
const (
	polyCRC32C    = crc32.Castagnoli
	polyCRC64NVME = 0x9a6c9329ac4bc9b5
)

var (
	tableCRC32C    = crc32.MakeTable(crc32.Castagnoli)
	tableCRC64NVME = crc64.MakeTable(polyCRC64NVME)
)

// ParseAlgorithm accepts the names used on the command line ("crc32c",
// "crc64nvme", any case).
func ParseAlgorithm(s string) (Algorithm, error) {
	switch Algorithm(strings.ToUpper(strings.TrimSpace(s))) {
	case CRC32C:
		return CRC32C, nil
	case CRC64NVME:
		return CRC64NVME, nil
	}
	return "", fmt.Errorf("checksum: unknown algorithm %q (want crc32c or crc64nvme)", s)
}

// Update extends crc over p.
func (a Algorithm) Update(crc uint64, p []byte) uint64 {
	if a == CRC64NVME {
		return crc64.Update(crc, tableCRC64NVME, p)
	}
	return uint64(crc32.Update(uint32(crc), tableCRC32C, p))
}

// Combine returns the CRC of A||B given crcA, crcB and the length of B.
func (a Algorithm) Combine(crcA, crcB uint64, lenB int64) uint64 {
	if a == CRC64NVME {
		return combine(crcA, crcB, lenB, polyCRC64NVME, 64)
	}
	return combine(crcA, crcB, lenB, polyCRC32C, 32)
}

// Encode renders a CRC the way S3 transmits it: base64 of the big-endian
// bytes.
func (a Algorithm) Encode(crc uint64) string {
	if a == CRC64NVME {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], crc)
		return base64.StdEncoding.EncodeToString(b[:])
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(crc))
	return base64.StdEncoding.EncodeToString(b[:])
}

// Sum computes the encoded checksum of p in one call (tests, small objects).
func (a Algorithm) Sum(p []byte) string {
	return a.Encode(a.Update(0, p))
}

// combine implements zlib's crc32_combine for any reflected CRC of the given
// width whose register is pre- and post-inverted (both CRC32C and CRC64NVME
// are): it applies lenB zero bytes to crcA through a GF(2) matrix raised to
// the power 8*lenB by repeated squaring, then xors in crcB.
func combine(crcA, crcB uint64, lenB int64, poly uint64, width int) uint64 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [64]uint64
	odd[0] = poly // operator for one zero bit
	row := uint64(1)
	for n := 1; n < width; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(even[:width], odd[:width]) // two zero bits
	gf2Square(odd[:width], even[:width]) // four zero bits
	for {
		gf2Square(even[:width], odd[:width])
		if lenB&1 != 0 {
			crcA = gf2Times(even[:width], crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
		gf2Square(odd[:width], even[:width])
		if lenB&1 != 0 {
			crcA = gf2Times(odd[:width], crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}
