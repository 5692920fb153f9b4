// Package knowledge is copnet's knowledge service (being built).
package knowledge
