"""Custom TFX components and the module files TFX runs inside Transform and Trainer."""
