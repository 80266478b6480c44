package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// watchCertExpiry exports when the node's own certificate (--tls-cert)
// expires, as txd_tls_cert_expiry_seconds, and says so in the log at
// start-up: warning level within certWarnBefore. Nothing without TLS.
func watchCertExpiry(logger *slog.Logger, ms *metricsServer, certFile string) {
	if certFile == "" {
		return
	}
	notAfter, err := certNotAfter(certFile)
	if err != nil {
		// nodeTLS loaded the same file: only a file changed since fails here.
		logger.Warn("certificate expiry unknown", "file", certFile, "err", err)
		return
	}
	left := time.Until(notAfter).Round(time.Minute)
	level := slog.LevelInfo
	if left < certWarnBefore {
		level = slog.LevelWarn
	}
	logger.Log(context.Background(), level, "certificate expires", "file", certFile, "not_after", notAfter.UTC().Format(time.RFC3339), "in", left)
	if err := ms.node().CertExpiry(notAfter); err != nil {
		logger.Error("metrics not registered", "err", err)
	}
}

// certWarnBefore: a certificate expiring sooner is logged as a warning at
// start-up (the alert rules say the same from the metric).
const certWarnBefore = 14 * 24 * time.Hour

// certNotAfter reads the first certificate of a PEM file.
func certNotAfter(file string) (time.Time, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return time.Time{}, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return time.Time{}, fmt.Errorf("%s: no certificate", file)
		}
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s: %w", file, err)
			}
			return cert.NotAfter, nil
		}
	}
}
