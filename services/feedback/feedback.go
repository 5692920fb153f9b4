// Package feedback is copnet's feedback service (being built).
package feedback
