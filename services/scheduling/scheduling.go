// Package scheduling is copnet's scheduling service (being built).
package scheduling
