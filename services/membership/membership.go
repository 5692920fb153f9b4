// Package membership is copnet's membership service (being built).
package membership
