"""The citizens' needs of their districts. Each module is one seam of the capability: `terms`
(word stems and the similar-needs index), `access` (who may work a district's needs), and the
modules filing, browsing, support, moderation, resources, monitoring and priorities polls add.
Import the module you need (`from bot.services.needs import terms`)."""
